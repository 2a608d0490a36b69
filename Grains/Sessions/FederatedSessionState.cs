using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Sessions.Legacy;
using Smpc.Protocols.Federated;

namespace Smpc.Grains.Sessions;

/// <summary>Stored state of a federated query or training session: the modeller's typed spec, its lifetime, and the coordinator's run (keys, rounds, releases, metrics).</summary>
public sealed class FederatedSessionState : SessionRecord
{
    /// <summary>A query session's spec (null for training).</summary>
    public FederatedQuerySpec? Query { get; set; }

    /// <summary>A training session's spec (null for a query).</summary>
    public FederatedTrainingSpec? Training { get; set; }

    /// <summary>How long the session may run before it fails (fixed at its creation).</summary>
    public TimeSpan Lifetime { get; set; }

    /// <summary>The request as JSON, as sessions stored it before typed specs: converted on read, null once the session is saved again.</summary>
    public LegacyFederatedSpec? Spec { get; set; }

    public FederatedRunState Run { get; set; } = new();
}
