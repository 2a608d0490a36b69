using Orleans.Concurrency;
using Smpc.Grains.Interfaces.Access;

namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>A federated query or training session (DESIGN.md §3.2, §3.3): the parent of its secure-aggregation rounds. Keyed <c>"{tenant}/{session}"</c>.</summary>
[Alias("smpc.session.federated")]
public interface IFederatedSessionGrain : ISessionGrain
{
    /// <summary>Federated, parent: a round (a secure-aggregation session of the same modeller, over pods of this session) joins it; idempotent.</summary>
    [Alias("fed.round")] Task<SessionInfo> AddRoundAsync(Caller caller, string round, string sessionId, IReadOnlyList<string> podIds);

    /// <summary>Federated, pod: publishes its member key (X25519, signed by its registered identity key); idempotent for the same key.</summary>
    [Alias("fed.member-key")] Task<SessionInfo> SubmitMemberKeyAsync(Caller caller, [Immutable] byte[] publicKey, [Immutable] byte[] signature);

    /// <summary>Federated, modeller: the content key sealed to every pod's member key; idempotent for the same boxes.</summary>
    [Alias("fed.sealed-keys")] Task<SessionInfo> SubmitSealedKeysAsync(Caller caller, [Immutable] IReadOnlyDictionary<string, byte[]> boxes);

    /// <summary>Federated, modeller: opens the upload of release <paramref name="name"/> (ciphertext under the content key).</summary>
    [Alias("fed.release.begin")] Task<PsiUpload> BeginReleaseAsync(Caller caller, string name);

    /// <summary>Federated, modeller: records the completed upload of release <paramref name="name"/>.</summary>
    [Alias("fed.release.commit")] Task<SessionInfo> CommitReleaseAsync(Caller caller, string name);

    /// <summary>Federated: the payload key of release <paramref name="name"/>, for the session's pods and modeller.</summary>
    [Alias("fed.release.get")] Task<string> GetReleaseAsync(Caller caller, string name);

    /// <summary>Federated, pod: declines under its policy; the session fails with the pod's reason.</summary>
    [Alias("fed.decline")] Task<SessionInfo> DeclineFederatedAsync(Caller caller, string reason);

    /// <summary>Federated, modeller: publishes metrics of one round (stored as given); idempotent for the same values.</summary>
    [Alias("fed.metrics")] Task<SessionInfo> ReportRoundMetricsAsync(Caller caller, string round, IReadOnlyDictionary<string, double> values);

    /// <summary>Federated, modeller: ends the session, completed or (with a reason) failed.</summary>
    [Alias("fed.finish")] Task<SessionInfo> FinishFederatedAsync(Caller caller, string? failureReason);
}
