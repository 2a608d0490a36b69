using System.Security.Cryptography;


namespace Smpc.Protocols.Crypto;

/// <summary>Fingerprints of public keys for pinning: "sha256:" followed by the lowercase hex SHA-256 of the key.</summary>
public static class KeyFingerprint
{
    private const string Prefix = "sha256:";

    /// <summary>The fingerprint of <paramref name="publicKey"/>.</summary>
    public static string Compute(ReadOnlySpan<byte> publicKey) => Prefix + Convert.ToHexStringLower(SHA256.HashData(publicKey));

    /// <summary>True when <paramref name="publicKey"/> has the fingerprint <paramref name="expected"/> (fixed-time compare).</summary>
    public static bool Matches(string expected, ReadOnlySpan<byte> publicKey)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var actual = System.Text.Encoding.ASCII.GetBytes(Compute(publicKey));
        var wanted = System.Text.Encoding.ASCII.GetBytes(expected.Trim().ToLowerInvariant());
        return CryptographicOperations.FixedTimeEquals(actual, wanted);
    }
}
