using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Sessions;

/// <summary>What every stored session holds whatever its kind; each kind's state adds its protocol's part.</summary>
public abstract class SessionRecord
{
    public string? ModellerId { get; set; }
    public SessionKind Kind { get; set; }
    public List<string> PodIds { get; set; } = [];
    public SessionPhase Phase { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>When the session last changed (null for sessions stored before it was recorded: their creation time).</summary>
    public DateTimeOffset? UpdatedAt { get; set; }
    /// <summary>When the session completed, failed or was cancelled (null while it runs, and for sessions that ended before it was recorded).</summary>
    public DateTimeOffset? EndedAt { get; set; }
    /// <summary>Incremented on every accepted change; lets clients detect progress.</summary>
    public int Version { get; set; }
    /// <summary>W3C traceparent of the session's creation: every party's spans join this one trace.</summary>
    public string? TraceParent { get; set; }

    /// <summary>A secure-aggregation round of a federated session: the parent session's id.</summary>
    public string? Parent { get; set; }

    /// <summary>The modeller's Ed25519 signature of the session statement, served to pods as given (they verify it; the service cannot forge it).</summary>
    public byte[]? ModellerSignature { get; set; }

    /// <summary>Set when the modeller or the tenant admin cancelled the session.</summary>
    public SessionCancellation? Cancellation { get; set; }

    /// <summary>True once the session has completed, failed or been cancelled.</summary>
    public bool HasEnded => Phase is SessionPhase.Completed or SessionPhase.Failed or SessionPhase.Cancelled;

    /// <summary>Copies the common part of a session stored by the grain before the split (see <see cref="Legacy.LegacySessionState"/>).</summary>
    public void CopyFrom(Legacy.LegacySessionState legacy)
    {
        ModellerId = legacy.ModellerId;
        Kind = legacy.Kind;
        PodIds = [.. legacy.PodIds];
        Phase = legacy.Phase;
        CreatedAt = legacy.CreatedAt;
        Version = legacy.Version;
        TraceParent = legacy.TraceParent;
        Parent = legacy.Parent;
        Cancellation = legacy.Cancellation;
    }
}
