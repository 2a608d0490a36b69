using Smpc.Grains.Interfaces.Access;

namespace Smpc.Grains.Interfaces.Tenancy;

/// <summary>A data scientist of a tenant. Keyed <c>"{tenant}/{modeller}"</c>.</summary>
[Alias("smpc.modeller")]
public interface IModellerGrain : IGrainWithStringKey
{
    /// <summary>
    /// The tenant admin registers the modeller with its Ed25519 identity key (empty: none, so no pod acts on its sessions)
    /// and its first API key; idempotent for identical data (no second key), a conflict otherwise.
    /// </summary>
    [Alias("register")] Task<Registration<MemberInfo>> RegisterAsync(Caller caller, string displayName, [Immutable] byte[] identityPublicKey, string keyId, [Immutable] byte[] keyHash);

    /// <summary>The modeller, for members of its tenant.</summary>
    [Alias("get")] Task<MemberInfo> GetAsync(Caller caller);

    /// <summary>True when registered (service-internal).</summary>
    [Alias("exists")] Task<bool> ExistsAsync();

    /// <summary>Records that the modeller created a session (service-internal, idempotent).</summary>
    [Alias("add-session")] Task AddSessionAsync(string sessionId);

    /// <summary>The sessions the modeller created, newest last; for the modeller itself and its tenant's admin.</summary>
    [Alias("list-sessions")] Task<IReadOnlyList<string>> ListSessionsAsync(Caller caller);

    /// <summary>Issues another API key for the modeller (rotation), for the tenant's admin.</summary>
    [Alias("issue-key")] Task IssueKeyAsync(Caller caller, string keyId, [Immutable] byte[] keyHash);

    /// <summary>The ids of every API key issued to this member, oldest first (revoked ones too), for the tenant's admin.</summary>
    [Alias("list-keys")] Task<IReadOnlyList<string>> ListKeyIdsAsync(Caller caller);
}
