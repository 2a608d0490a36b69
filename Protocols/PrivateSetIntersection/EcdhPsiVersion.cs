namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>The ECDH PSI protocol version both parties name on the wire, and what it fixes.</summary>
public static class EcdhPsiVersion
{
    /// <summary>
    /// ecdh-oprf-v1: records go through the RFC 9497 OPRF (ristretto255-SHA512, mode 0x00) with outputs truncated to
    /// <see cref="TagBytes"/>; cardinality is counted by the pod over the same RFC 9380 hash-to-group and sealed to the
    /// modeller. It replaced the unversioned construction (SHA-512 with the label "smpc/psi/ecdh/h/v1", then from_hash).
    /// </summary>
    public const string Current = "ecdh-oprf-v1";

    /// <summary>The first 32 bytes of a 64-byte OPRF output are compared (collision bound in docs/protocols/psi.md).</summary>
    public const int TagBytes = 32;

    /// <summary>Refuses any version but <see cref="Current"/>, naming both (an old peer is told, never silently mismatched).</summary>
    public static void Require(string? version, string who)
    {
        if (version != Current)
        {
            throw new ProtocolException(ProtocolError.UnsupportedVersion,
                $"{who} speaks ecdh PSI version '{version ?? "(none: the unversioned construction before ecdh-oprf-v1)"}', this party only '{Current}'");
        }
    }
}
