namespace Smpc.Protocols.Federated;

/// <summary>Reads named fields out of a secure-aggregation result (field name → summed values).</summary>
public static class Sums
{
    public static double[] Vector(IReadOnlyDictionary<string, double[]> sums, string name) =>
        sums.TryGetValue(name, out var values) && values is not null
            ? values
            : throw new ArgumentException($"The aggregate has no field '{name}'.", nameof(sums));

    public static double Scalar(IReadOnlyDictionary<string, double[]> sums, string name)
    {
        var values = Vector(sums, name);
        return values.Length == 1 ? values[0] : throw new ArgumentException($"Field '{name}' has {values.Length} elements, not 1.", nameof(sums));
    }
}
