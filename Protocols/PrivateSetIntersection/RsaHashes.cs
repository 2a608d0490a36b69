using System.Buffers.Binary;
using System.Security.Cryptography;
using Org.BouncyCastle.Math;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// H1, the full-domain hash onto Z_n, and H2, the final SHA-256 tag, of the RSA blind-signature PSI.
/// </summary>
/// <remarks>
/// H1(x) = OS2IP(T_0 ‖ T_1 ‖ … )[first k + 16 bytes] mod n, T_c = SHA-256("smpc/psi/rsa/h1/v1" ‖ SHA-256(n) ‖ BE32(c) ‖ x):
/// 128 extra bits make the reduction's bias below 2^-128. H2(s) = SHA-256("smpc/psi/rsa/h2/v1" ‖ I2OSP(s, k)).
/// </remarks>
public static class RsaHashes
{
    private static readonly byte[] H1Label = "smpc/psi/rsa/h1/v1"u8.ToArray();
    private static readonly byte[] H2Label = "smpc/psi/rsa/h2/v1"u8.ToArray();

    /// <summary>H1(x) as a big-endian k-byte value in [0, n).</summary>
    public static byte[] FullDomainHash(RsaPsiPublicKey key, byte[] modulusDigest, ReadOnlySpan<byte> record)
    {
        ArgumentNullException.ThrowIfNull(key);
        var k = key.ModulusBytes;
        var expanded = new byte[(k + 16 + 31) / 32 * 32];
        var input = new byte[H1Label.Length + 32 + 4 + record.Length];
        H1Label.CopyTo(input, 0);
        modulusDigest.CopyTo(input, H1Label.Length);
        record.CopyTo(input.AsSpan(H1Label.Length + 36));
        for (var c = 0; c < expanded.Length / 32; c++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(input.AsSpan(H1Label.Length + 32), (uint)c);
            SHA256.HashData(input, expanded.AsSpan(c * 32, 32));
        }

        var value = new BigInteger(1, expanded, 0, k + 16).Mod(new BigInteger(1, key.Modulus));
        return ToFixed(value, k);
    }

    /// <summary>H2(s): the 32-byte tag compared between the parties.</summary>
    public static byte[] Tag(ReadOnlySpan<byte> signature)
    {
        var input = new byte[H2Label.Length + signature.Length];
        H2Label.CopyTo(input, 0);
        signature.CopyTo(input.AsSpan(H2Label.Length));
        return SHA256.HashData(input);
    }

    /// <summary>I2OSP: a non-negative integer as exactly <paramref name="length"/> big-endian bytes.</summary>
    internal static byte[] ToFixed(BigInteger value, int length)
    {
        var raw = value.ToByteArrayUnsigned();
        if (raw.Length > length)
        {
            throw new ArgumentOutOfRangeException(nameof(value), "integer longer than the modulus");
        }

        var result = new byte[length];
        raw.CopyTo(result, length - raw.Length);
        return result;
    }

    /// <summary>True when a k-byte big-endian value v satisfies 1 &lt; v &lt; n − 1 (refusing 0, 1, −1 and ≥ n).</summary>
    public static bool IsValidElement(ReadOnlySpan<byte> value, ReadOnlySpan<byte> modulus)
    {
        if (value.Length != modulus.Length || value.SequenceCompareTo(modulus) >= 0)
        {
            return false;
        }

        // n is odd, so n − 1 differs from n only in the last byte.
        if (value[..^1].SequenceEqual(modulus[..^1]) && value[^1] == modulus[^1] - 1)
        {
            return false;
        }

        var leadingZero = value[..^1].IndexOfAnyExcept((byte)0) < 0;
        return !leadingZero || value[^1] > 1;
    }
}
