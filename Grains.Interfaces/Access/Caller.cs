using Smpc.Grains.Interfaces.Errors;

namespace Smpc.Grains.Interfaces.Access;

/// <summary>The authenticated identity behind a call, passed to grains so they re-check tenancy against their own state.</summary>
[GenerateSerializer, Immutable, Alias("smpc.caller")]
public sealed record Caller(
    [property: Id(0)] CallerRole Role,
    [property: Id(1)] string? Tenant,
    [property: Id(2)] string? Subject,
    [property: Id(3)] string? KeyId)
{
    /// <summary>The operator (configured key; no tenant).</summary>
    public static Caller Operator { get; } = new(CallerRole.Operator, null, null, null);

    public static Caller Admin(string tenant, string? keyId = null) => new(CallerRole.TenantAdmin, tenant, null, keyId);

    public static Caller Pod(string tenant, string pod, string? keyId = null) => new(CallerRole.Pod, tenant, pod, keyId);

    public static Caller Modeller(string tenant, string modeller, string? keyId = null) => new(CallerRole.Modeller, tenant, modeller, keyId);

    /// <summary>True for the given pod or modeller of the given tenant.</summary>
    public bool Is(CallerRole role, string tenant, string subject) => Role == role && Tenant == tenant && Subject == subject;

    /// <summary>Anything of another tenant does not exist for this caller: not found, never forbidden.</summary>
    public void RequireTenant(string tenant, string what)
    {
        if (Role == CallerRole.Operator || Tenant != tenant) throw SmpcException.NotFound(what);
    }

    /// <summary>Inside its own tenant, a caller in the wrong role is forbidden.</summary>
    public void RequireRole(params CallerRole[] roles)
    {
        if (!roles.Contains(Role)) throw SmpcException.Forbidden($"This requires the role {string.Join(" or ", roles)}; the caller is {Role}.");
    }

    public override string ToString() => $"{Role}:{Tenant}/{Subject}";
}
