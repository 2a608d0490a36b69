using System.Net;

namespace Smpc.Grains.Interfaces.Webhooks;

/// <summary>
/// Where a webhook may point: an absolute https URL without user info or fragment; plain http only to a loopback host,
/// and only when the service allows it (an embedded service, <c>Smpc:Webhooks:AllowLoopbackHttp</c>). One rule, used by
/// the gateway (to answer invalid-webhook-url) and again by the dispatcher grain.
/// </summary>
public static class WebhookUrlRule
{
    /// <summary>Longest URL accepted.</summary>
    public const int MaxLength = 2000;

    /// <summary>Null when <paramref name="url"/> is acceptable, else why not.</summary>
    public static string? Check(string? url, bool allowLoopbackHttp)
    {
        if (string.IsNullOrWhiteSpace(url)) return "A webhook needs a url.";
        if (url.Length > MaxLength) return $"A webhook url is at most {MaxLength} characters.";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) return "A webhook url must be absolute.";
        if (!string.IsNullOrEmpty(uri.UserInfo)) return "A webhook url must not carry user information.";
        if (!string.IsNullOrEmpty(uri.Fragment)) return "A webhook url must not carry a fragment.";
        if (uri.Scheme == Uri.UriSchemeHttps) return null;
        if (uri.Scheme != Uri.UriSchemeHttp) return "A webhook url must use https.";
        if (!allowLoopbackHttp) return "A webhook url must use https (plain http is allowed only to a loopback host of an embedded service).";
        return IsLoopback(uri) ? null : "Plain http is allowed only to a loopback host (localhost, 127.0.0.1, ::1); use https.";
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback && (string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip)));
}
