using System.Security.Cryptography;
using Utf8 = System.Text.Encoding;

namespace Smpc.Protocols.Webhooks;

/// <summary>
/// Standard Webhooks signatures (https://www.standardwebhooks.com, the "symmetric" scheme):
/// <list type="number">
/// <item>the secret is <c>whsec_</c> + base64 of its bytes (here 24–64 bytes);</item>
/// <item>the signed content is the UTF-8 of <c>"{webhook-id}.{webhook-timestamp}.{body}"</c>, the body byte for byte as sent;</item>
/// <item>the <c>webhook-signature</c> header is <c>v1,</c> + base64(HMAC-SHA256(secret bytes, content)); a receiver may get
/// several space-separated signatures (e.g. during a secret rotation) and accepts the message if any one matches.</item>
/// </list>
/// Pure: no clock, no I/O. Comparisons are fixed-time.
/// </summary>
public sealed class WebhookSignature
{
    /// <summary>The prefix of a secret.</summary>
    public const string SecretPrefix = "whsec_";

    /// <summary>The version tag of an HMAC-SHA256 signature.</summary>
    public const string VersionPrefix = "v1,";

    /// <summary>Fewest secret bytes accepted.</summary>
    public const int MinSecretBytes = 24;

    /// <summary>Most secret bytes accepted.</summary>
    public const int MaxSecretBytes = 64;

    /// <summary>Bytes of a secret the service makes.</summary>
    public const int GeneratedSecretBytes = 32;

    private readonly byte[] _key;

    private WebhookSignature(byte[] key) => _key = key;

    /// <summary>A signer for a <c>whsec_…</c> secret; throws <see cref="FormatException"/> for anything else.</summary>
    public static WebhookSignature FromSecret(string secret) =>
        TryParseSecret(secret, out var key) ? new WebhookSignature(key) : throw new FormatException($"A webhook secret is '{SecretPrefix}' followed by base64 of {MinSecretBytes}–{MaxSecretBytes} bytes.");

    /// <summary>True when <paramref name="secret"/> is <c>whsec_</c> + base64 of 24–64 bytes.</summary>
    public static bool IsValidSecret(string? secret) => TryParseSecret(secret, out _);

    /// <summary>A new random secret.</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(GeneratedSecretBytes));

    /// <summary>The <c>webhook-signature</c> value of a message.</summary>
    public string Sign(string messageId, long timestamp, ReadOnlySpan<byte> body)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Compute(messageId, timestamp, body, mac);
        return VersionPrefix + Convert.ToBase64String(mac);
    }

    /// <summary>The <c>webhook-signature</c> value of a message whose body is <paramref name="body"/> in UTF-8.</summary>
    public string Sign(string messageId, long timestamp, string body) => Sign(messageId, timestamp, Utf8.UTF8.GetBytes(body));

    /// <summary>True when one of the space-separated <c>v1,</c> signatures in <paramref name="header"/> matches (fixed-time).</summary>
    public bool Verify(string messageId, long timestamp, ReadOnlySpan<byte> body, string header)
    {
        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Compute(messageId, timestamp, body, expected);
        Span<byte> given = stackalloc byte[HMACSHA256.HashSizeInBytes];
        var ok = false;
        foreach (var part in header.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!part.StartsWith(VersionPrefix, StringComparison.Ordinal)) continue;
            if (!Convert.TryFromBase64String(part[VersionPrefix.Length..], given, out var written) || written != given.Length) continue;
            ok |= CryptographicOperations.FixedTimeEquals(given, expected);
        }

        return ok;
    }

    private void Compute(string messageId, long timestamp, ReadOnlySpan<byte> body, Span<byte> mac)
    {
        var prefix = Utf8.UTF8.GetBytes($"{messageId}.{timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
        hmac.AppendData(prefix);
        hmac.AppendData(body);
        hmac.GetHashAndReset(mac);
    }

    private static bool TryParseSecret(string? secret, out byte[] key)
    {
        key = [];
        if (secret is null || !secret.StartsWith(SecretPrefix, StringComparison.Ordinal)) return false;
        var text = secret[SecretPrefix.Length..];
        var buffer = new byte[(text.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64String(text, buffer, out var written) || written is < MinSecretBytes or > MaxSecretBytes) return false;
        key = buffer[..written];
        return true;
    }
}
