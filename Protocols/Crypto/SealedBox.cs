using System.Security.Cryptography;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.Crypto;

/// <summary>
/// Seals a message to a recipient's X25519 public key with a fresh ephemeral key and AES-256-GCM.
/// </summary>
/// <remarks>
/// 1. R is refused if it is a low-order point; e ← random X25519 key; Z = X25519(e, R) (Z = 0 is refused).
/// 2. K = HKDF-SHA-256(IKM = Z, salt = "smpc/seal/v1", info = E ‖ R, 32 bytes), E the ephemeral public key.
/// 3. (C, T) = AES-256-GCM(K, nonce = 0^96, plaintext, AD) — the nonce can be fixed because K is used once.
/// 4. The box is E (32) ‖ C (|plaintext|) ‖ T (16). The caller's AD binds session, sender, recipient, purpose.
/// Opening refuses a low-order E (<see cref="ProtocolError.LowOrderPoint"/>). The box is anonymous: it says nothing about
/// who sealed it, so a sender that must be authenticated signs inside the plaintext or uses a pairwise key instead.
/// </remarks>
public static class SealedBox
{
    /// <summary>Bytes added to the plaintext: ephemeral key plus tag.</summary>
    public const int Overhead = X25519KeyPair.KeySize + TagSize;

    private const int TagSize = 16;
    private static readonly byte[] Salt = "smpc/seal/v1"u8.ToArray();

    /// <summary>Seals <paramref name="plaintext"/> to <paramref name="recipientPublicKey"/> bound to <paramref name="associatedData"/>.</summary>
    public static byte[] Seal(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, IRandomSource random)
    {
        X25519KeyPair.CheckPeerKey(recipientPublicKey, "the recipient key of a sealed box");
        using var ephemeral = X25519KeyPair.Generate(random);
        var shared = ephemeral.Agree(recipientPublicKey);
        Span<byte> key = stackalloc byte[32];
        try
        {
            DeriveKey(shared, ephemeral.PublicKey, recipientPublicKey, key);
            var box = new byte[Overhead + plaintext.Length];
            ephemeral.PublicKey.CopyTo(box, 0);
            using var gcm = new AesGcm(key, TagSize);
            Span<byte> nonce = stackalloc byte[12];
            nonce.Clear();
            gcm.Encrypt(nonce, plaintext, box.AsSpan(X25519KeyPair.KeySize, plaintext.Length), box.AsSpan(X25519KeyPair.KeySize + plaintext.Length), associatedData);
            return box;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Opens a box with the recipient's key pair; refuses tampering or a different AD.</summary>
    public static byte[] Open(X25519KeyPair recipient, ReadOnlySpan<byte> box, ReadOnlySpan<byte> associatedData)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        if (box.Length < Overhead)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "sealed box is shorter than its fixed overhead");
        }

        var ephemeralPublic = box[..X25519KeyPair.KeySize];
        var ciphertext = box[X25519KeyPair.KeySize..^TagSize];
        var tag = box[^TagSize..];
        X25519KeyPair.CheckPeerKey(ephemeralPublic, "the ephemeral key of a sealed box");
        byte[] shared;
        try
        {
            shared = recipient.Agree(ephemeralPublic);
        }
        catch (CryptographicCheckException ex)
        {
            throw new CryptographicCheckException(ProtocolError.DecryptionFailed, "sealed box has an invalid ephemeral key: " + ex.Message);
        }

        Span<byte> key = stackalloc byte[32];
        try
        {
            DeriveKey(shared, ephemeralPublic, recipient.PublicKey, key);
            using var gcm = new AesGcm(key, TagSize);
            Span<byte> nonce = stackalloc byte[12];
            nonce.Clear();
            var plaintext = new byte[ciphertext.Length];
            gcm.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new CryptographicCheckException(ProtocolError.DecryptionFailed, "sealed box failed to open (wrong recipient, tampered, or different associated data)");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static void DeriveKey(ReadOnlySpan<byte> shared, ReadOnlySpan<byte> ephemeralPublic, ReadOnlySpan<byte> recipientPublic, Span<byte> key)
    {
        Span<byte> info = stackalloc byte[64];
        ephemeralPublic.CopyTo(info);
        recipientPublic.CopyTo(info[32..]);
        Hkdf.DeriveKey(shared, Salt, info, key);
    }
}
