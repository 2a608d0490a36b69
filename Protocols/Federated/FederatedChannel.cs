using System.Buffers.Binary;
using System.Security.Cryptography;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.Signatures;

namespace Smpc.Protocols.Federated;

/// <summary>
/// The modeller-to-pods channel of a federated (query or training) session: what the modeller releases between rounds
/// (pooled counts, global parameters) reaches the pods without the relaying service reading it.
/// </summary>
/// <remarks>
/// 1. Each pod publishes a member key: a fresh X25519 public key M_i, signed with its Ed25519 identity key over
///    "smpc/member-key/v1" ‖ len‖tenant ‖ len‖session ‖ len‖pod ‖ M_i. Peers check the signature against the pod's pinned fingerprint.
/// 2. The modeller draws a 32-byte content key K and seals it to every M_i (<see cref="SealedBox"/>, AD =
///    "smpc/content-key/v1" ‖ tenant ‖ session ‖ pod).
/// 3. A release named N is AES-256-GCM under K with a random 96-bit nonce and AD = "smpc/release/v1" ‖ tenant ‖ session ‖ N:
///    nonce (12) ‖ ciphertext ‖ tag (16). The name binding stops the service from replaying one release as another.
/// 4. Both the sealed content key and every release travel modeller-signed: 0x01 ‖ box ‖ Ed25519 signature (64) over the
///    content-key or release statement of <see cref="ModellerStatements"/>; pods verify it against the session's verified
///    modeller identity before opening either, so a service cannot seal its own content key to them or forge a release.
/// </remarks>
public static class FederatedChannel
{
    /// <summary>Size of the content key.</summary>
    public const int ContentKeySize = 32;

    /// <summary>Bytes a release adds to its plaintext (nonce and tag).</summary>
    public const int ReleaseOverhead = NonceSize + TagSize;

    private const int NonceSize = 12;
    private const int TagSize = 16;

    /// <summary>The bytes a pod's identity key signs to vouch for its member key.</summary>
    public static byte[] MemberKeyMessage(string tenant, string session, string pod, ReadOnlySpan<byte> memberPublicKey)
    {
        if (memberPublicKey.Length != X25519KeyPair.KeySize)
            throw new MessageRejectedException(ProtocolError.Malformed, "a member key is a 32-byte X25519 public key");
        return [.. Context("smpc/member-key/v1", tenant, session, pod), .. memberPublicKey];
    }

    /// <summary>Signs <paramref name="memberPublicKey"/> with the pod's identity key.</summary>
    public static byte[] SignMemberKey(Ed25519KeyPair identity, string tenant, string session, string pod, ReadOnlySpan<byte> memberPublicKey)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return identity.Sign(MemberKeyMessage(tenant, session, pod, memberPublicKey));
    }

    /// <summary>
    /// Checks a member key: the identity key must match the pinned fingerprint and its signature must cover this tenant,
    /// session, pod and key. Throws <see cref="CryptographicCheckException"/> otherwise.
    /// </summary>
    public static void VerifyMemberKey(
        string pinnedFingerprint, ReadOnlySpan<byte> identityPublicKey, string tenant, string session, string pod,
        ReadOnlySpan<byte> memberPublicKey, ReadOnlySpan<byte> signature)
    {
        if (!KeyFingerprint.Matches(pinnedFingerprint, identityPublicKey))
            throw new CryptographicCheckException(ProtocolError.IdentityMismatch, $"pod {pod}'s identity key does not match its pinned fingerprint {pinnedFingerprint}");
        if (!Ed25519KeyPair.Verify(identityPublicKey, MemberKeyMessage(tenant, session, pod, memberPublicKey), signature))
            throw new CryptographicCheckException(ProtocolError.BadSignature, $"pod {pod}'s member key is not signed by its identity key");
    }

    /// <summary>A fresh content key.</summary>
    public static byte[] NewContentKey(IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var key = new byte[ContentKeySize];
        random.Fill(key);
        return key;
    }

    /// <summary>Seals the content key to one pod's member key.</summary>
    public static byte[] SealContentKey(ReadOnlySpan<byte> contentKey, ReadOnlySpan<byte> memberPublicKey, string tenant, string session, string pod, IRandomSource random)
    {
        if (contentKey.Length != ContentKeySize) throw new ArgumentException("the content key is 32 bytes", nameof(contentKey));
        return SealedBox.Seal(memberPublicKey, contentKey, Context("smpc/content-key/v1", tenant, session, pod), random);
    }

    /// <summary>Opens the content key sealed to this pod; refuses a box for another pod, session or tenant.</summary>
    public static byte[] OpenContentKey(X25519KeyPair memberKey, ReadOnlySpan<byte> box, string tenant, string session, string pod)
    {
        var key = SealedBox.Open(memberKey, box, Context("smpc/content-key/v1", tenant, session, pod));
        if (key.Length == ContentKeySize) return key;
        CryptographicOperations.ZeroMemory(key);
        throw new MessageRejectedException(ProtocolError.Malformed, "a content key is 32 bytes");
    }

    /// <summary>Encrypts the release <paramref name="name"/> under the content key.</summary>
    public static byte[] SealRelease(ReadOnlySpan<byte> contentKey, string tenant, string session, string name, ReadOnlySpan<byte> plaintext, IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var box = new byte[ReleaseOverhead + plaintext.Length];
        random.Fill(box.AsSpan(0, NonceSize));
        using var gcm = new AesGcm(contentKey, TagSize);
        gcm.Encrypt(box.AsSpan(0, NonceSize), plaintext, box.AsSpan(NonceSize, plaintext.Length), box.AsSpan(NonceSize + plaintext.Length), Context("smpc/release/v1", tenant, session, name));
        return box;
    }

    /// <summary>Decrypts the release <paramref name="name"/>; refuses tampering, a different name, session or tenant.</summary>
    public static byte[] OpenRelease(ReadOnlySpan<byte> contentKey, string tenant, string session, string name, ReadOnlySpan<byte> box)
    {
        if (box.Length < ReleaseOverhead) throw new MessageRejectedException(ProtocolError.Malformed, "a release is shorter than its nonce and tag");
        var plaintext = new byte[box.Length - ReleaseOverhead];
        try
        {
            using var gcm = new AesGcm(contentKey, TagSize);
            gcm.Decrypt(box[..NonceSize], box[NonceSize..^TagSize], box[^TagSize..], plaintext, Context("smpc/release/v1", tenant, session, name));
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new CryptographicCheckException(ProtocolError.DecryptionFailed, $"release '{name}' failed to open (tampered, or not the release of this name and session)");
        }
    }

    /// <summary>Version byte of a modeller-signed payload (a sealed content key or a release): 0x01 ‖ box ‖ signature (64).</summary>
    public const byte SignedFormatVersion = 0x01;

    /// <summary>Bytes the signed format adds to a box: the version byte and the modeller's Ed25519 signature.</summary>
    public const int SignedOverhead = 1 + Ed25519KeyPair.SignatureSize;

    /// <summary>Size of a signed sealed content key as stored by the service: 0x01 ‖ sealed box (80) ‖ signature (64).</summary>
    public const int SignedContentKeySize = SignedOverhead + SealedBox.Overhead + ContentKeySize;

    /// <summary>
    /// The modeller's signed seal for <paramref name="pod"/>: 0x01 ‖ <paramref name="box"/> ‖ Ed25519 signature over
    /// <see cref="ModellerStatements.ContentKeySeal"/> (which binds the pod's member key and the box's SHA-256).
    /// </summary>
    public static byte[] SignContentKeySeal(
        Ed25519KeyPair modeller, string tenant, string session, string pod, ReadOnlySpan<byte> memberPublicKey, ReadOnlySpan<byte> box)
    {
        ArgumentNullException.ThrowIfNull(modeller);
        return Envelope(box, modeller.Sign(ModellerStatements.ContentKeySeal(tenant, session, pod, memberPublicKey, box)));
    }

    /// <summary>
    /// Checks a signed seal against the modeller's verified identity key and returns the inner sealed box; refuses an
    /// unsigned (old) format, another version, and a signature that is not the modeller's over this pod, member key and box.
    /// </summary>
    public static byte[] VerifyContentKeySeal(
        ReadOnlySpan<byte> modellerIdentityKey, ReadOnlySpan<byte> signedBox, string tenant, string session, string pod, ReadOnlySpan<byte> memberPublicKey)
    {
        var (box, signature) = Unwrap(signedBox, "the sealed content key");
        if (box.Length != SealedBox.Overhead + ContentKeySize)
            throw new MessageRejectedException(ProtocolError.Malformed, $"a signed sealed content key is {SignedContentKeySize} bytes");
        if (!Ed25519KeyPair.Verify(modellerIdentityKey, ModellerStatements.ContentKeySeal(tenant, session, pod, memberPublicKey, box), signature))
            throw new CryptographicCheckException(ProtocolError.BadSignature,
                $"the content key sealed to pod '{pod}' is not signed by the session's verified modeller (a key the service substituted, or one sealed for another pod, member key or session)");
        return box;
    }

    /// <summary>The modeller's signed release: 0x01 ‖ <paramref name="box"/> ‖ Ed25519 signature over <see cref="ModellerStatements.Release"/>.</summary>
    public static byte[] SignRelease(Ed25519KeyPair modeller, string tenant, string session, string name, ReadOnlySpan<byte> box)
    {
        ArgumentNullException.ThrowIfNull(modeller);
        return Envelope(box, modeller.Sign(ModellerStatements.Release(tenant, session, name, box)));
    }

    /// <summary>Checks a signed release against the modeller's verified identity key and returns the inner release box (refusals as for seals).</summary>
    public static byte[] VerifyRelease(ReadOnlySpan<byte> modellerIdentityKey, ReadOnlySpan<byte> signedBox, string tenant, string session, string name)
    {
        var (box, signature) = Unwrap(signedBox, $"release '{name}'");
        if (!Ed25519KeyPair.Verify(modellerIdentityKey, ModellerStatements.Release(tenant, session, name, box), signature))
            throw new CryptographicCheckException(ProtocolError.BadSignature,
                $"release '{name}' is not signed by the session's verified modeller (forged or replaced by the service, or signed for another name or session)");
        return box;
    }

    private static byte[] Envelope(ReadOnlySpan<byte> box, ReadOnlySpan<byte> signature)
    {
        var signed = new byte[SignedOverhead + box.Length];
        signed[0] = SignedFormatVersion;
        box.CopyTo(signed.AsSpan(1));
        signature.CopyTo(signed.AsSpan(1 + box.Length));
        return signed;
    }

    private static (byte[] Box, byte[] Signature) Unwrap(ReadOnlySpan<byte> signed, string what)
    {
        // The unsigned format (a bare box) starts with a random byte: a length or version mismatch is refused by name, never opened.
        if (signed.Length < SignedOverhead || signed[0] != SignedFormatVersion)
            throw new MessageRejectedException(ProtocolError.Malformed,
                $"{what} is not in the modeller-signed format v{SignedFormatVersion} (0x01 ‖ box ‖ signature): an unsigned or unknown format is refused");
        return (signed[1..^Ed25519KeyPair.SignatureSize].ToArray(), signed[^Ed25519KeyPair.SignatureSize..].ToArray());
    }

    /// <summary>Domain label followed by length-prefixed (u16 big-endian) UTF-8 parts: unambiguous for any ids.</summary>
    private static byte[] Context(string label, params string[] parts)
    {
        using var buffer = new MemoryStream();
        buffer.Write(System.Text.Encoding.ASCII.GetBytes(label));
        Span<byte> length = stackalloc byte[2];
        foreach (var part in parts)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(part ?? throw new ArgumentNullException(nameof(parts)));
            if (bytes.Length > ushort.MaxValue) throw new ArgumentException("an id is too long", nameof(parts));
            BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)bytes.Length);
            buffer.Write(length);
            buffer.Write(bytes);
        }

        return buffer.ToArray();
    }
}
