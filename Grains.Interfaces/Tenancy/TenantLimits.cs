namespace Smpc.Grains.Interfaces.Tenancy;

/// <summary>
/// A tenant's limits, set by the operator: request rate per credential (token bucket), and quotas that hold across
/// gateways: sessions running at once, payload bytes and PSI elements stored per UTC day. Null quotas: the gateway's defaults.
/// </summary>
[GenerateSerializer, Immutable, Alias("smpc.tenant-limits")]
public sealed record TenantLimits(
    [property: Id(0)] double RequestsPerSecond,
    [property: Id(1)] int Burst,
    [property: Id(2)] int? MaxConcurrentSessions = null,
    [property: Id(3)] long? PayloadBytesPerDay = null,
    [property: Id(4)] long? PsiElementsPerDay = null);
