using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Smpc.Grains.Interfaces.Access;

/// <summary>
/// API keys: <c>smpc_{keyId}_{secret}</c>. The key id (16 hex) locates the credential; the secret (32 random bytes, base64url)
/// is never stored: only its SHA-256, compared in fixed time. High-entropy random secrets need no slow password hash.
/// </summary>
public static partial class ApiKey
{
    private const string Prefix = "smpc_";

    /// <summary>A fresh key and what the service stores of it.</summary>
    public static (string Key, string KeyId, byte[] SecretHash) Generate()
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        return ($"{Prefix}{keyId}_{secret}", keyId, Hash(secret));
    }

    /// <summary>Splits a presented key into its id and the hash of its secret; false for anything malformed.</summary>
    public static bool TryParse(string? presented, out string keyId, out byte[] secretHash)
    {
        keyId = "";
        secretHash = [];
        if (presented is null) return false;
        var match = KeyRegex().Match(presented);
        if (!match.Success) return false;
        keyId = match.Groups[1].Value;
        secretHash = Hash(match.Groups[2].Value);
        return true;
    }

    /// <summary>SHA-256 of a secret's ASCII text.</summary>
    public static byte[] Hash(string secret) => SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(secret));

    /// <summary>Fixed-time comparison of two hashes.</summary>
    public static bool HashesEqual(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => CryptographicOperations.FixedTimeEquals(a, b);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [GeneratedRegex("^smpc_([0-9a-f]{16})_([A-Za-z0-9_-]{43})\\z", RegexOptions.CultureInvariant)]
    private static partial Regex KeyRegex();
}
