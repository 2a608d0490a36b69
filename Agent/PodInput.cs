namespace Smpc.Agent;

/// <summary>
/// A named input: one number, inline values, or a vector/tensor file (.json, .csv, .npy) — always plain x. For weighted
/// means it also says the pod's weight: <see cref="Weight"/> or <see cref="WeightRowsOf"/>; the agent forms w·x itself.
/// </summary>
public sealed record PodInput
{
    public double? Value { get; init; }

    public double[]? Values { get; init; }

    public string? File { get; init; }

    /// <summary>Weighted means: this pod's weight as a number (e.g. its sample count).</summary>
    public double? Weight { get; init; }

    /// <summary>Weighted means: the weight is the row count of this file (CSV data rows after a header, .npy first dimension, JSON top-level array length).</summary>
    public string? WeightRowsOf { get; init; }
}
