namespace Smpc.Grains.Interfaces.Access;

/// <summary>What a credential may do.</summary>
public enum CallerRole
{
    /// <summary>The service operator: creates tenants, nothing inside them.</summary>
    Operator = 1,
    /// <summary>A tenant's administrator: registers pods and modellers and manages their keys.</summary>
    TenantAdmin = 2,
    /// <summary>A data owner, acting only as itself.</summary>
    Pod = 3,
    /// <summary>A data scientist, seeing only its own sessions.</summary>
    Modeller = 4,
}
