namespace Smpc.Protocols.SecureAggregation;

/// <summary>A weighted mean as the modeller learns it: Σw over the included pods and, per x field, Σ w·x / Σ w (exact to decimal's 28 digits).</summary>
public sealed record WeightedMeanResult(decimal WeightSum, IReadOnlyDictionary<string, decimal[]> Means, IReadOnlyList<int> IncludedParties)
{
    /// <summary>The weighted mean of one field as doubles.</summary>
    public double[] Mean(string field) => [.. Means[field].Select(m => (double)m)];
}
