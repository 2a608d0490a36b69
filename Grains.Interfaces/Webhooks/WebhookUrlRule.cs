using System.Net;

namespace Smpc.Grains.Interfaces.Webhooks;

/// <summary>
/// Where a webhook may point: an absolute https URL without user info or fragment; plain http only to a loopback host,
/// and only when the service allows it (an embedded service, <c>Smpc:Webhooks:AllowLoopbackHttp</c>). In a cluster
/// (loopback http not allowed) a host that is <c>localhost</c> or an IP literal in an internal range
/// (<see cref="IsInternal"/>) is refused too, unless <c>Smpc:Webhooks:AllowPrivateAddresses</c>; host names are checked
/// again, resolved, when the silo connects. One rule, used by the gateway (to answer invalid-webhook-url) and again by
/// the dispatcher grain.
/// </summary>
public static class WebhookUrlRule
{
    /// <summary>Longest URL accepted.</summary>
    public const int MaxLength = 2000;

    /// <summary>Null when <paramref name="url"/> is acceptable, else why not.</summary>
    public static string? Check(string? url, bool allowLoopbackHttp, bool allowPrivateAddresses = false)
    {
        if (string.IsNullOrWhiteSpace(url)) return "A webhook needs a url.";
        if (url.Length > MaxLength) return $"A webhook url is at most {MaxLength} characters.";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) return "A webhook url must be absolute.";
        if (!string.IsNullOrEmpty(uri.UserInfo)) return "A webhook url must not carry user information.";
        if (!string.IsNullOrEmpty(uri.Fragment)) return "A webhook url must not carry a fragment.";
        if (uri.Scheme == Uri.UriSchemeHttps)
            return allowLoopbackHttp || allowPrivateAddresses || !IsInternalHost(uri) ? null
                : "A webhook url must not point at a loopback, private, link-local or other internal address.";
        if (uri.Scheme != Uri.UriSchemeHttp) return "A webhook url must use https.";
        if (!allowLoopbackHttp) return "A webhook url must use https (plain http is allowed only to a loopback host of an embedded service).";
        return IsLoopback(uri) ? null : "Plain http is allowed only to a loopback host (localhost, 127.0.0.1, ::1); use https.";
    }

    /// <summary>
    /// True for an address a tenant's webhook must not reach in a cluster: unspecified, loopback, private (10/8,
    /// 172.16/12, 192.168/16), CGNAT (100.64/10), link-local (169.254/16, fe80::/10), unique-local (fc00::/7), site-local,
    /// multicast, reserved (240/4) and broadcast; IPv4-mapped IPv6 addresses are judged as their IPv4 address.
    /// </summary>
    public static bool IsInternal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address)) return true;
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] is 0 or 10 or 127 or >= 224 // this network, private, loopback, multicast, reserved, broadcast
                || (b[0] == 100 && b[1] is >= 64 and < 128)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && b[1] is >= 16 and < 32)
                || (b[0] == 192 && b[1] == 168);
        }

        return address.Equals(IPAddress.IPv6Any) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal
            || address.IsIPv6Multicast;
    }

    private static bool IsInternalHost(Uri uri)
    {
        var host = uri.Host.Trim('[', ']').TrimEnd('.');
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 && IPAddress.TryParse(host, out var ip) && IsInternal(ip);
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback && (string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip)));
}
