using Smpc.Grains.Interfaces.Access;

namespace Smpc.Grains.Interfaces.Tenancy;

/// <summary>A tenant: the isolation boundary for pods, modellers and sessions. Keyed by tenant id.</summary>
[Alias("smpc.tenant")]
public interface ITenantGrain : IGrainWithStringKey
{
    /// <summary>The operator creates the tenant and its first admin key; idempotent for the same display name (no second key), a conflict otherwise.</summary>
    [Alias("create")] Task<Registration<TenantInfo>> CreateAsync(Caller caller, string displayName, string adminKeyId, [Immutable] byte[] adminKeyHash);

    /// <summary>The tenant, for the operator or any member of it.</summary>
    [Alias("get")] Task<TenantInfo> GetAsync(Caller caller);

    /// <summary>True when the tenant has been created (service-internal).</summary>
    [Alias("exists")] Task<bool> ExistsAsync();

    /// <summary>Issues another admin key (rotation), for the operator or the tenant's admin.</summary>
    [Alias("issue-admin-key")] Task IssueAdminKeyAsync(Caller caller, string keyId, [Immutable] byte[] keyHash);

    /// <summary>The ids of every admin key issued, oldest first (revoked ones too), for the tenant's admin.</summary>
    [Alias("list-admin-keys")] Task<IReadOnlyList<string>> ListAdminKeyIdsAsync(Caller caller);

    /// <summary>Records a member id in the tenant's directory (service-internal, idempotent).</summary>
    [Alias("add-member")] Task AddMemberAsync(MemberKind kind, string id);

    /// <summary>The member ids of one kind, sorted, for members of the tenant.</summary>
    [Alias("list-members")] Task<IReadOnlyList<string>> ListMembersAsync(Caller caller, MemberKind kind);

    /// <summary>Operator: sets the tenant's rate limits (null: back to the gateway's defaults).</summary>
    [Alias("set-limits")] Task<TenantLimits?> SetLimitsAsync(Caller caller, TenantLimits? limits);

    /// <summary>The tenant's rate limits, for the gateways (null: their defaults; also for a tenant that does not exist).</summary>
    [Alias("limits")] Task<TenantLimits?> GetLimitsAsync();
}
