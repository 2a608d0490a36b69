namespace Smpc.Grains.Sessions;

/// <summary>Stored state of a federated query or training session: the common part and the parent's (keys, rounds, releases).</summary>
public sealed class FederatedSessionState : SessionRecord
{
    public FederatedState Federated { get; set; } = new();
}
