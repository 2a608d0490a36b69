namespace Smpc.Grains.Tenancy;

/// <summary>Stored state of a pod or modeller.</summary>
public sealed class MemberState
{
    public string? DisplayName { get; set; }
    public DateTimeOffset RegisteredAt { get; set; }
    /// <summary>Ed25519 identity public key (pods); peers pin its fingerprint.</summary>
    public byte[] IdentityPublicKey { get; set; } = [];
    public List<string> KeyIds { get; set; } = [];
    /// <summary>Sessions a pod takes part in, or a modeller created (bounded by <see cref="PodGrain.MaxListedSessions"/>).</summary>
    public List<string> Sessions { get; set; } = [];
}
