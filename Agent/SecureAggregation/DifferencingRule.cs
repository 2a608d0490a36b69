namespace Smpc.Agent.SecureAggregation;

/// <summary>
/// The differencing guard for one input: at least <see cref="MinPods"/> pods per session, and a pod set equal to, or differing
/// in at least <see cref="MinDifference"/> pods from, each earlier session's over the same input within <see cref="Window"/>.
/// </summary>
/// <param name="MinPods">Fewest pods per session (≥ 3).</param>
/// <param name="MinDifference">k: the smallest non-zero symmetric difference allowed between two pod sets (1 = no ledger check).</param>
/// <param name="Window">How long an earlier session counts; null = forever.</param>
public sealed record DifferencingRule(int MinPods, int MinDifference, TimeSpan? Window)
{
    /// <summary>The rule for <paramref name="input"/> (its own settings over the policy's); null input: the policy's.</summary>
    /// <exception cref="InvalidDataException">A setting is out of range (fewer than 3 pods, k below 1, a negative window).</exception>
    public static DifferencingRule For(SecureAggregationPolicy policy, PodInput? input)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var minPods = input?.MinPods ?? policy.MinPods;
        var k = input?.MinPodSetDifference ?? policy.MinPodSetDifference ?? minPods;
        var days = input?.DifferencingWindowDays ?? policy.DifferencingWindowDays;
        if (minPods < SecureAggregationPolicy.DefaultMinPods)
            throw new InvalidDataException($"minPods is {minPods}; a session needs at least {SecureAggregationPolicy.DefaultMinPods} pods.");
        if (k < 1) throw new InvalidDataException($"minPodSetDifference is {k}; it is at least 1 (1 switches the ledger check off).");
        if (days < 0 || double.IsNaN(days) || double.IsInfinity(days))
            throw new InvalidDataException($"differencingWindowDays is {days}; give a number of days ≥ 0 (0 = forever).");
        return new DifferencingRule(minPods, k, days == 0 ? null : TimeSpan.FromDays(days));
    }
}
