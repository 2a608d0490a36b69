using Smpc.Contracts;

namespace Smpc.Agent.Federated;

/// <summary>A pod's part in one federated session: the policy check and preparation, then the vector for each round.</summary>
public interface IFederatedPodDriver : IDisposable
{
    /// <summary>Checks the session against the pod's policy and prepares (runs the query, loads the data); a reason to decline, or null.</summary>
    Task<string?> PrepareAsync(SessionResponse session, CancellationToken ct);

    /// <summary>
    /// The pod's vector for one round of <paramref name="parent"/>; throws <see cref="FederatedRefusalException"/> when the
    /// pod will not contribute (a round it does not know, other fields or pods than the declared ones, a bad release).
    /// </summary>
    Task<double[]> InputAsync(SessionResponse round, SessionResponse parent, FederatedPodChannel channel, CancellationToken ct);
}
