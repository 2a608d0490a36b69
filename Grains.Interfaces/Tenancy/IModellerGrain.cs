namespace Smpc.Grains.Interfaces.Tenancy;

/// <summary>A data scientist of a tenant. Keyed <c>"{tenant}/{modeller}"</c>.</summary>
[Alias("smpc.modeller")]
public interface IModellerGrain : IGrainWithStringKey
{
    /// <summary>Registers the modeller in an existing tenant; idempotent for identical data, a conflict otherwise.</summary>
    [Alias("register")] Task<MemberInfo> RegisterAsync(string displayName);

    /// <summary>The modeller, or a not-found error.</summary>
    [Alias("get")] Task<MemberInfo> GetAsync();

    /// <summary>True when registered.</summary>
    [Alias("exists")] Task<bool> ExistsAsync();
}
