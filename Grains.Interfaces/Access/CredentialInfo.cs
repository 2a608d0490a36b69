namespace Smpc.Grains.Interfaces.Access;

/// <summary>A credential as the service stores it: who it acts as, never its secret.</summary>
[GenerateSerializer, Immutable, Alias("smpc.credential-info")]
public sealed record CredentialInfo(
    [property: Id(0)] string KeyId,
    [property: Id(1)] CallerRole Role,
    [property: Id(2)] string Tenant,
    [property: Id(3)] string? Subject,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] DateTimeOffset? RevokedAt);
