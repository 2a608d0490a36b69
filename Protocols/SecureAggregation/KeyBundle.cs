using Smpc.Protocols.Crypto;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>Step 1 message: a party's two session public keys, signed with its long-term Ed25519 identity.</summary>
/// <param name="SessionId">The session the keys belong to.</param>
/// <param name="Party">The party index, 1..n.</param>
/// <param name="SealKey">X25519 public key peers seal share envelopes to.</param>
/// <param name="MaskKey">X25519 public key for pairwise mask agreement.</param>
/// <param name="IdentityKey">Ed25519 public identity key (pinned by fingerprint).</param>
/// <param name="Signature">Ed25519 signature over <see cref="SignedBytes"/>.</param>
public sealed record KeyBundle(string SessionId, int Party, byte[] SealKey, byte[] MaskKey, byte[] IdentityKey, byte[] Signature)
{
    /// <summary>
    /// The bytes the identity key signs: "smpc/secagg/keybundle/v3" ‖ str(session) ‖ BE32 round ‖ BE32 party ‖ seal (32) ‖
    /// mask (32) ‖ SHA-256 of the canonical session parameters (<see cref="SessionParameters.Digest"/>).
    /// </summary>
    public static byte[] SignedBytes(SessionParameters parameters, int party, ReadOnlySpan<byte> sealKey, ReadOnlySpan<byte> maskKey)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return new WireWriter().Bytes("smpc/secagg/keybundle/v3"u8).String(parameters.SessionId).UInt32(parameters.Round).Int32(party)
            .Bytes(sealKey).Bytes(maskKey).Bytes(parameters.Digest()).ToArray();
    }

    /// <summary>Parses the binary form (see docs/protocols/secure-aggregation.md).</summary>
    public static KeyBundle Parse(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data, "key bundle");
        r.Header(WireFormat.KeyBundleType);
        var bundle = new KeyBundle(
            r.String(),
            r.Int32(),
            r.Bytes(X25519KeyPair.KeySize).ToArray(),
            r.Bytes(X25519KeyPair.KeySize).ToArray(),
            r.Bytes(Ed25519KeyPair.KeySize).ToArray(),
            r.Bytes(Ed25519KeyPair.SignatureSize).ToArray());
        r.ExpectEnd();
        return bundle;
    }

    /// <summary>Binary form: 01 01 ‖ session ‖ BE32 party ‖ seal (32) ‖ mask (32) ‖ identity (32) ‖ signature (64).</summary>
    public byte[] ToBytes() =>
        new WireWriter().Byte(WireFormat.Version).Byte(WireFormat.KeyBundleType).String(SessionId).Int32(Party)
            .Bytes(SealKey).Bytes(MaskKey).Bytes(IdentityKey).Bytes(Signature).ToArray();

    /// <summary>True when the bundle is for <paramref name="parameters"/>' session and its signature covers exactly these parameters.</summary>
    public bool VerifySignature(SessionParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return string.Equals(SessionId, parameters.SessionId, StringComparison.Ordinal) &&
            SealKey.Length == X25519KeyPair.KeySize && MaskKey.Length == X25519KeyPair.KeySize &&
            Ed25519KeyPair.Verify(IdentityKey, SignedBytes(parameters, Party, SealKey, MaskKey), Signature);
    }
}
