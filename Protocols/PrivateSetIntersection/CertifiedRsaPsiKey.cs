namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// A pod's RSA key that passed <see cref="RsaKeyCertification.Verify"/> for one session: the only key an
/// <see cref="RsaPsiClient"/> blinds under, so no blinded element can leave the modeller under an uncertified key.
/// </summary>
public sealed class CertifiedRsaPsiKey
{
    internal CertifiedRsaPsiKey(RsaPsiPublicKey key, RsaKeyBinding binding)
    {
        Key = key;
        Binding = binding;
    }

    /// <summary>The certified public key (n, 65537).</summary>
    public RsaPsiPublicKey Key { get; }

    /// <summary>The session the proof was bound to.</summary>
    public RsaKeyBinding Binding { get; }
}
