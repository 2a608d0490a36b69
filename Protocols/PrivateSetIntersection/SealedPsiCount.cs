using System.Buffers.Binary;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// The pod's answer in pod-counted cardinality, sealed to the modeller's per-session X25519 count key so the service
/// stores and relays only ciphertext: plaintext "smpc/psi/count/v1" ‖ status (0 = count, 1 = withheld below the pod's
/// minimum) ‖ BE64 value (the count, or the minimum); associated data "smpc/psi/count/v1" ‖ UTF-8 session id. Both
/// outcomes have the same length, so the service cannot tell a withheld count from a released one.
/// </summary>
public static class SealedPsiCount
{
    private static readonly byte[] Label = "smpc/psi/count/v1"u8.ToArray();

    /// <summary>Length of a sealed count.</summary>
    public static int SealedBytes => SealedBox.Overhead + Label.Length + 9;

    /// <summary>Seals a count (or, <paramref name="withheld"/>, the minimum it fell below); refuses a low-order key.</summary>
    public static byte[] Seal(ReadOnlySpan<byte> countKey, string sessionId, bool withheld, long value, IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        var plaintext = new byte[Label.Length + 9];
        Label.CopyTo(plaintext, 0);
        plaintext[Label.Length] = withheld ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt64BigEndian(plaintext.AsSpan(Label.Length + 1), value);
        return SealedBox.Seal(countKey, plaintext, AssociatedData(sessionId), random);
    }

    /// <summary>Opens a sealed count: (withheld, value); refuses tampering, another session or a malformed plaintext.</summary>
    public static (bool Withheld, long Value) Open(X25519KeyPair countKey, string sessionId, ReadOnlySpan<byte> sealedCount)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        var plaintext = SealedBox.Open(countKey, sealedCount, AssociatedData(sessionId));
        if (plaintext.Length != Label.Length + 9 || !plaintext.AsSpan(0, Label.Length).SequenceEqual(Label) || plaintext[Label.Length] > 1)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "the sealed count's plaintext is not smpc/psi/count/v1");
        }

        var value = BinaryPrimitives.ReadInt64BigEndian(plaintext.AsSpan(Label.Length + 1));
        return value < 0
            ? throw new MessageRejectedException(ProtocolError.Malformed, "the sealed count is negative")
            : (plaintext[Label.Length] == 1, value);
    }

    private static byte[] AssociatedData(string sessionId) => [.. Label, .. System.Text.Encoding.UTF8.GetBytes(sessionId)];
}
