using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Sessions.Legacy;

/// <summary>
/// A session as the single session grain (grain type "session", state "session") stored it before each kind got its own
/// grain: read once by the kind's grain when it has no state of its own (<see cref="LegacySessionStore"/>), never written.
/// The property names are the stored JSON's; do not rename them.
/// </summary>
public sealed class LegacySessionState
{
    public string? ModellerId { get; set; }
    public SessionKind Kind { get; set; }
    public List<string> PodIds { get; set; } = [];
    public SessionPhase Phase { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public int Version { get; set; }
    public string? TraceParent { get; set; }
    public LegacyAggregationState? Aggregation { get; set; }
    public LegacyPsiState? Psi { get; set; }
    public LegacyFederatedState? Federated { get; set; }
    public string? Parent { get; set; }
    public SessionCancellation? Cancellation { get; set; }
}
