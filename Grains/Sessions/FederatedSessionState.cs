using Smpc.Grains.Interfaces.Sessions;
using Smpc.Protocols.Federated;

namespace Smpc.Grains.Sessions;

/// <summary>Stored state of a federated query or training session: the modeller's request and the coordinator's run (keys, rounds, releases, metrics).</summary>
public sealed class FederatedSessionState : SessionRecord
{
    public FederatedSpec? Spec { get; set; }
    public FederatedRunState Run { get; set; } = new();
}
