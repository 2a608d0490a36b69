using Smpc.Contracts;

namespace Smpc.Client.SecureAggregation;

/// <summary>A pod a secure aggregation's result does not include, and why: its decline category, or that it dropped out or never answered.</summary>
public sealed record LeftOutPod(string Pod, int Party, string Reason)
{
    /// <summary>The session's left-out pods, in party order (for a session that did not complete, every pod that was not included).</summary>
    public static IReadOnlyList<LeftOutPod> Of(SessionResponse session)
    {
        var ended = session.Phase != SessionPhases.Completed && session.HasEnded();
        return [.. (session.Aggregation?.Pods ?? []).Where(p => p.Status != PodStatuses.Included && (ended || p.Status != PodStatuses.Active)).Select(p => new LeftOutPod(
            p.Pod, p.Party, p.Status switch
            {
                PodStatuses.Declined => $"declined: {p.DeclineCategory}",
                PodStatuses.Dropped => "dropped out (no answer before a phase closed)",
                _ => $"no answer before the session {session.Phase}",
            }))];
    }

    public override string ToString() => $"{Pod} (party {Party}): {Reason}";
}
