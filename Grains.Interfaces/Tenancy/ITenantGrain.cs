namespace Smpc.Grains.Interfaces.Tenancy;

/// <summary>A tenant: the isolation boundary for pods, modellers and sessions. Keyed by tenant id.</summary>
[Alias("smpc.tenant")]
public interface ITenantGrain : IGrainWithStringKey
{
    /// <summary>Creates the tenant; idempotent for the same display name, a conflict otherwise.</summary>
    [Alias("create")] Task<TenantInfo> CreateAsync(string displayName);

    /// <summary>The tenant, or a not-found error.</summary>
    [Alias("get")] Task<TenantInfo> GetAsync();

    /// <summary>True when the tenant has been created.</summary>
    [Alias("exists")] Task<bool> ExistsAsync();

    /// <summary>Records a member id in the tenant's directory (idempotent).</summary>
    [Alias("add-member")] Task AddMemberAsync(MemberKind kind, string id);

    /// <summary>The member ids of one kind, sorted.</summary>
    [Alias("list-members")] Task<IReadOnlyList<string>> ListMembersAsync(MemberKind kind);
}
