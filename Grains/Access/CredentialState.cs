using Smpc.Grains.Interfaces.Access;

namespace Smpc.Grains.Access;

/// <summary>Stored state of an API key: the SHA-256 of its secret, never the secret.</summary>
public sealed class CredentialState
{
    public CallerRole Role { get; set; }
    public string Tenant { get; set; } = "";
    public string? Subject { get; set; }
    public byte[] SecretHash { get; set; } = [];
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}
