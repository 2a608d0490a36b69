namespace Smpc.Agent.SecureAggregation;

/// <summary>The pod's secure-aggregation rules: which modellers and operations (sum, mean, weighted mean) it serves. Empty lists allow all.</summary>
public sealed record SecureAggregationPolicy
{
    public List<string> Modellers { get; init; } = [];

    public List<string> Operations { get; init; } = ["sum", "mean", "weighted-mean"];
}
