using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Sessions;

/// <summary>Stored state of a session. Large payloads are referenced, never embedded.</summary>
public sealed class SessionState
{
    public string? ModellerId { get; set; }
    public SessionKind Kind { get; set; }
    public List<string> PodIds { get; set; } = [];
    public SessionPhase Phase { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>Incremented on every accepted change; lets clients detect progress.</summary>
    public int Version { get; set; }
    /// <summary>W3C traceparent of the session's creation: every party's spans join this one trace.</summary>
    public string? TraceParent { get; set; }

    /// <summary>Present for secure-aggregation sessions.</summary>
    public AggregationState? Aggregation { get; set; }

    /// <summary>Present for PSI sessions.</summary>
    public PsiState? Psi { get; set; }

    /// <summary>Present for federated query and training sessions.</summary>
    public FederatedState? Federated { get; set; }

    /// <summary>A secure-aggregation round of a federated session: the parent session's id.</summary>
    public string? Parent { get; set; }

    /// <summary>Set when the modeller or the tenant admin cancelled the session.</summary>
    public SessionCancellation? Cancellation { get; set; }
}
