using System.Security.Cryptography;

namespace Smpc.Protocols.Crypto;

/// <summary>HKDF-SHA-256 (RFC 5869): the one key-derivation function of the protocols.</summary>
public static class Hkdf
{
    /// <summary>HKDF-Extract: PRK = HMAC-SHA-256(salt, IKM).</summary>
    public static byte[] Extract(ReadOnlySpan<byte> inputKeyMaterial, ReadOnlySpan<byte> salt)
    {
        var prk = new byte[32];
        HKDF.Extract(HashAlgorithmName.SHA256, inputKeyMaterial, salt, prk);
        return prk;
    }

    /// <summary>HKDF-Expand: OKM of <paramref name="output"/>.Length bytes from a PRK and info.</summary>
    public static void Expand(ReadOnlySpan<byte> pseudoRandomKey, ReadOnlySpan<byte> info, Span<byte> output) =>
        HKDF.Expand(HashAlgorithmName.SHA256, pseudoRandomKey, output, info);

    /// <summary>Extract-then-Expand into <paramref name="output"/>.</summary>
    public static void DeriveKey(ReadOnlySpan<byte> inputKeyMaterial, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> info, Span<byte> output) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, inputKeyMaterial, output, salt, info);

    /// <summary>Extract-then-Expand into a new array of <paramref name="length"/> bytes.</summary>
    public static byte[] DeriveKey(ReadOnlySpan<byte> inputKeyMaterial, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> info, int length)
    {
        var output = new byte[length];
        DeriveKey(inputKeyMaterial, salt, info, output);
        return output;
    }
}
