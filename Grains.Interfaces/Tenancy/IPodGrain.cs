using Orleans.Concurrency;
using Smpc.Grains.Interfaces.Access;

namespace Smpc.Grains.Interfaces.Tenancy;

/// <summary>A data owner of a tenant. Keyed <c>"{tenant}/{pod}"</c>.</summary>
[Alias("smpc.pod")]
public interface IPodGrain : IGrainWithStringKey
{
    /// <summary>The tenant admin registers the pod with its Ed25519 identity public key and first API key; idempotent for identical data (no second key), a conflict otherwise.</summary>
    [Alias("register")] Task<Registration<MemberInfo>> RegisterAsync(Caller caller, string displayName, [Immutable] byte[] identityPublicKey, string keyId, [Immutable] byte[] keyHash);

    /// <summary>The pod, for members of its tenant.</summary>
    [Alias("get")] Task<MemberInfo> GetAsync(Caller caller);

    /// <summary>True when registered (service-internal).</summary>
    [Alias("exists")] Task<bool> ExistsAsync();

    /// <summary>Records that the pod takes part in a session (service-internal, idempotent).</summary>
    [Alias("add-session")] Task AddSessionAsync(string sessionId);

    /// <summary>The sessions the pod takes part in, newest last; for the pod itself and its tenant's admin.</summary>
    [Alias("list-sessions")] Task<IReadOnlyList<string>> ListSessionsAsync(Caller caller);

    /// <summary>
    /// Long poll for work: the session list once its newest entry differs from <paramref name="newestKnown"/>, or unchanged
    /// after <paramref name="timeout"/> (at most 20 s). For the pod itself; read-only, so it may interleave.
    /// </summary>
    [Alias("wait-sessions"), AlwaysInterleave] Task<IReadOnlyList<string>> WaitForNewSessionAsync(Caller caller, string? newestKnown, TimeSpan timeout);

    /// <summary>Issues another API key for the pod (rotation), for the tenant's admin.</summary>
    [Alias("issue-key")] Task IssueKeyAsync(Caller caller, string keyId, [Immutable] byte[] keyHash);

    /// <summary>The ids of every API key issued to this member, oldest first (revoked ones too), for the tenant's admin.</summary>
    [Alias("list-keys")] Task<IReadOnlyList<string>> ListKeyIdsAsync(Caller caller);
}
