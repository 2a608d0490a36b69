namespace Smpc.Grains.Interfaces.Tenancy;

/// <summary>A data owner of a tenant. Keyed <c>"{tenant}/{pod}"</c>.</summary>
[Alias("smpc.pod")]
public interface IPodGrain : IGrainWithStringKey
{
    /// <summary>Registers the pod in an existing tenant; idempotent for identical data, a conflict otherwise.</summary>
    [Alias("register")] Task<MemberInfo> RegisterAsync(string displayName);

    /// <summary>The pod, or a not-found error.</summary>
    [Alias("get")] Task<MemberInfo> GetAsync();

    /// <summary>True when registered.</summary>
    [Alias("exists")] Task<bool> ExistsAsync();
}
