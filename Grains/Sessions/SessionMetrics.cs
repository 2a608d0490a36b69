using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Sessions;

/// <summary>
/// The phase metrics every session kind shares, recorded from the saved phase change (so a change that failed to save
/// counts nothing): <see cref="SmpcTelemetry.PhaseDurations"/> for the phase that closed and, when the session ended,
/// <see cref="SmpcTelemetry.SessionsEnded"/> with its outcome; both tagged with the kind.
/// </summary>
internal static class SessionMetrics
{
    /// <summary>Records a saved change from <paramref name="previous"/> (null: the session was just created) to <paramref name="current"/>.</summary>
    public static void Saved(SessionKind kind, SessionPhase? previous, SessionPhase current, DateTimeOffset createdAt, DateTimeOffset now)
    {
        if (previous is not { } closed || closed == current || IsEnded(closed)) return;
        var kindTag = new KeyValuePair<string, object?>(SmpcTelemetry.SessionKindTag, kind.ToString());
        SmpcTelemetry.PhaseDurations.Record(Math.Max(0, (now - createdAt).TotalSeconds), kindTag,
            new KeyValuePair<string, object?>(SmpcTelemetry.PhaseTag, closed.ToString()));
        if (IsEnded(current))
            SmpcTelemetry.SessionsEnded.Add(1, kindTag, new KeyValuePair<string, object?>(SmpcTelemetry.OutcomeTag, current.ToString().ToLowerInvariant()));
    }

    private static bool IsEnded(SessionPhase phase) => phase is SessionPhase.Completed or SessionPhase.Failed or SessionPhase.Cancelled;
}
