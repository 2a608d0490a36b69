namespace Smpc.Grains.Interfaces.Tenancy;

/// <summary>A registered pod or modeller as stored by its grain.</summary>
[GenerateSerializer, Immutable, Alias("smpc.member-info")]
public sealed record MemberInfo(
    [property: Id(0)] string Tenant,
    [property: Id(1)] string Id,
    [property: Id(2)] string DisplayName,
    [property: Id(3)] DateTimeOffset RegisteredAt,
    [property: Id(4)] byte[] IdentityPublicKey);
