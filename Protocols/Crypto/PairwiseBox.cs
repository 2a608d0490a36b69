using System.Security.Cryptography;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.Crypto;

/// <summary>
/// AES-256-GCM under a key only the sender and the recipient can derive (from their own signed X25519 keys), so a box
/// that opens was made by the sender it names — unlike a <see cref="SealedBox"/>, which anyone holding the public key can make.
/// </summary>
/// <remarks>
/// The box is nonce (12, random) ‖ AES-256-GCM_K(nonce, plaintext, AD) ‖ tag (16). The nonce is drawn at random rather
/// than fixed because the pairwise key is a function of two long-lived-in-the-session keys: a step redone after a failure
/// must not reuse a (key, nonce) pair for a different plaintext. Each key seals a handful of boxes, far below the 2^32
/// random-nonce limit of NIST SP 800-38D §8.3.
/// </remarks>
public static class PairwiseBox
{
    /// <summary>Bytes added to the plaintext: nonce plus tag.</summary>
    public const int Overhead = NonceSize + TagSize;

    /// <summary>Size of the pairwise key.</summary>
    public const int KeySize = 32;

    private const int NonceSize = 12;
    private const int TagSize = 16;

    /// <summary>Seals <paramref name="plaintext"/> under the pairwise <paramref name="key"/>, bound to <paramref name="associatedData"/>.</summary>
    public static byte[] Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(random);
        CheckKey(key);
        var box = new byte[Overhead + plaintext.Length];
        random.Fill(box.AsSpan(0, NonceSize));
        using var gcm = new AesGcm(key, TagSize);
        gcm.Encrypt(box.AsSpan(0, NonceSize), plaintext, box.AsSpan(NonceSize, plaintext.Length), box.AsSpan(NonceSize + plaintext.Length), associatedData);
        return box;
    }

    /// <summary>
    /// Opens a box; anything not sealed under <paramref name="key"/> with this AD — another sender, another recipient,
    /// another label, a tampered byte — is <see cref="ProtocolError.SenderNotAuthenticated"/>, described as <paramref name="what"/>.
    /// </summary>
    public static byte[] Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> box, ReadOnlySpan<byte> associatedData, string what)
    {
        CheckKey(key);
        if (box.Length < Overhead)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"{what} is shorter than its nonce and tag");
        }

        var plaintext = new byte[box.Length - Overhead];
        try
        {
            using var gcm = new AesGcm(key, TagSize);
            gcm.Decrypt(box[..NonceSize], box[NonceSize..^TagSize], box[^TagSize..], plaintext, associatedData);
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            throw new CryptographicCheckException(ProtocolError.SenderNotAuthenticated, $"{what} did not authenticate: it was not sealed by the sender it names to this recipient in this session (forged, substituted, relabelled or tampered in transit)");
        }
    }

    private static void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException("a pairwise key is 32 bytes", nameof(key));
        }
    }
}
