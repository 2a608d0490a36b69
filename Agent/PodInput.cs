namespace Smpc.Agent;

/// <summary>
/// A named input: one number, inline values, or a vector/tensor file (.json, .csv, .npy) — always plain x. For weighted
/// means it also says the pod's weight: <see cref="Weight"/> or <see cref="WeightRowsOf"/>; the agent forms w·x itself.
/// The differencing guard of <see cref="SecureAggregation.SecureAggregationPolicy"/> may be set per input.
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

    /// <summary>Fewest pods a session over this input may run over; null: the policy's <c>minPods</c>.</summary>
    public int? MinPods { get; init; }

    /// <summary>k for this input's differencing ledger; null: the policy's <c>minPodSetDifference</c>.</summary>
    public int? MinPodSetDifference { get; init; }

    /// <summary>This input's ledger window in days (0 = forever); null: the policy's <c>differencingWindowDays</c>.</summary>
    public double? DifferencingWindowDays { get; init; }
}
