namespace Smpc.Agent.SecureAggregation;

/// <summary>
/// The pod's secure-aggregation rules: which modellers and operations (sum, mean, weighted mean) it serves (empty lists allow
/// all), and its guard against differencing: a minimum number of pods per session and a minimum difference between the pod
/// sets of sessions over the same input (docs/protocols/secure-aggregation.md, "Pod policy against differencing").
/// </summary>
public sealed record SecureAggregationPolicy
{
    /// <summary>The smallest pod-count default; the protocol itself needs n ≥ 3.</summary>
    public const int DefaultMinPods = 3;

    /// <summary>How long the differencing ledger remembers a session, by default.</summary>
    public const double DefaultDifferencingWindowDays = 90;

    public List<string> Modellers { get; init; } = [];

    public List<string> Operations { get; init; } = ["sum", "mean", "weighted-mean"];

    /// <summary>Fewest pods a session may run over (each input may raise or lower it, never below 3).</summary>
    public int MinPods { get; init; } = DefaultMinPods;

    /// <summary>
    /// k: a session's pod set must equal, or differ in at least k pods (symmetric difference) from, every pod set of an earlier
    /// session over the same input within the window; null takes <see cref="MinPods"/> (so any difference of two sums is itself
    /// a sum over at least the minimum group). 1 switches the ledger check off.
    /// </summary>
    public int? MinPodSetDifference { get; init; }

    /// <summary>How many days the ledger remembers a session's pod set; 0 = forever.</summary>
    public double DifferencingWindowDays { get; init; } = DefaultDifferencingWindowDays;
}
