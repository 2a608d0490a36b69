using System.Security.Cryptography;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>The signer's per-session RSA public key (n, e), big-endian unsigned, as published to the client.</summary>
/// <param name="Modulus">n, exactly k = |n| bytes with a non-zero first byte.</param>
/// <param name="Exponent">e (65537 by default).</param>
public sealed record RsaPsiPublicKey(byte[] Modulus, byte[] Exponent)
{
    /// <summary>Minimum modulus size in bits.</summary>
    public const int MinimumBits = 2048;

    /// <summary>Default modulus size in bits.</summary>
    public const int DefaultBits = 3072;

    /// <summary>Maximum modulus size in bits.</summary>
    public const int MaximumBits = 4096;

    /// <summary>k: the modulus length in bytes, also the length of every RSA value on the wire.</summary>
    public int ModulusBytes => Modulus.Length;

    /// <summary>Parses: BE16 |n| ‖ n ‖ BE16 |e| ‖ e, and validates the key.</summary>
    public static RsaPsiPublicKey Parse(ReadOnlySpan<byte> data)
    {
        var key = ParseFraming(data);
        key.Validate();
        return key;
    }

    /// <summary>Parses the framing only (no key checks): the modeller hands the result to <see cref="RsaKeyCertification.Verify"/>, which names each refusal.</summary>
    public static RsaPsiPublicKey ParseFraming(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "RSA public key truncated");
        }

        var nLength = (data[0] << 8) | data[1];
        if (data.Length < 4 + nLength)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "RSA public key truncated");
        }

        var eLength = (data[2 + nLength] << 8) | data[3 + nLength];
        if (data.Length != 4 + nLength + eLength)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "RSA public key has a bad length");
        }

        return new RsaPsiPublicKey(data.Slice(2, nLength).ToArray(), data.Slice(4 + nLength, eLength).ToArray());
    }

    /// <summary>The binary form: BE16 |n| ‖ n ‖ BE16 |e| ‖ e.</summary>
    public byte[] ToBytes()
    {
        var result = new byte[4 + Modulus.Length + Exponent.Length];
        result[0] = (byte)(Modulus.Length >> 8);
        result[1] = (byte)Modulus.Length;
        Modulus.CopyTo(result, 2);
        result[2 + Modulus.Length] = (byte)(Exponent.Length >> 8);
        result[3 + Modulus.Length] = (byte)Exponent.Length;
        Exponent.CopyTo(result, 4 + Modulus.Length);
        return result;
    }

    /// <summary>SHA-256 of n: binds H1 to this key.</summary>
    public byte[] ModulusDigest() => SHA256.HashData(Modulus);

    /// <summary>Refuses moduli outside 2048..4096 bits, even moduli and exponents that are even or below 3.</summary>
    public void Validate()
    {
        var bits = (Modulus.Length * 8) - (Modulus.Length == 0 ? 0 : System.Numerics.BitOperations.LeadingZeroCount((uint)Modulus[0]) - 24);
        if (Modulus.Length == 0 || Modulus[0] == 0 || bits < MinimumBits || bits > MaximumBits || (Modulus[^1] & 1) == 0)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, $"RSA modulus must be odd with {MinimumBits}..{MaximumBits} bits, got {bits}");
        }

        if (Exponent.Length == 0 || Exponent.Length > 8 || (Exponent[^1] & 1) == 0 || (Exponent.Length == 1 && Exponent[0] < 3))
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "RSA public exponent must be odd and at least 3");
        }
    }
}
