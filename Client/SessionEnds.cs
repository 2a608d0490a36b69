using Smpc.Contracts;

namespace Smpc.Client;

/// <summary>How a session's end reads to its parties: whether it has ended, and who cancelled it and why.</summary>
public static class SessionEnds
{
    /// <summary>True once the session has completed, failed or been cancelled: nothing more happens in it.</summary>
    public static bool HasEnded(this SessionResponse session) =>
        session.Phase is SessionPhases.Completed or SessionPhases.Failed or SessionPhases.Cancelled;

    /// <summary>"cancelled by modeller m1: reason" for a cancelled session; null otherwise.</summary>
    public static string? CancelledText(this SessionResponse session) => session.Phase != SessionPhases.Cancelled ? null
        : session.Cancellation is not { } c ? "cancelled"
        : $"cancelled by {(c.By is null ? "the tenant admin" : $"{c.Role.ToLowerInvariant()} {c.By}")}{(c.Reason is { } r ? $": {r}" : "")}";
}
