namespace Smpc.Grains.Interfaces.Tenancy;

/// <summary>A tenant's request rate per credential, set by the operator (null on the tenant: the gateway's defaults).</summary>
[GenerateSerializer, Immutable, Alias("smpc.tenant-limits")]
public sealed record TenantLimits(
    [property: Id(0)] double RequestsPerSecond,
    [property: Id(1)] int Burst);
