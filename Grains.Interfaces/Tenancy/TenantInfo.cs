namespace Smpc.Grains.Interfaces.Tenancy;

/// <summary>A tenant as stored by its grain.</summary>
[GenerateSerializer, Immutable, Alias("smpc.tenant-info")]
public sealed record TenantInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string DisplayName,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] int PodCount,
    [property: Id(4)] int ModellerCount);
