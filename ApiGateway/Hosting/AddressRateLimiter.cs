using Microsoft.Extensions.Options;

namespace Smpc.ApiGateway.Hosting;

/// <summary>Token buckets per client address: one for all requests, one for failed authentications.</summary>
/// <remarks>On real time, like the per-credential limiter, not the service clock that tests move.</remarks>
internal sealed class AddressRateLimiter(IOptions<RateLimitOptions> options)
{
    private static readonly TimeProvider Clock = TimeProvider.System;
    private readonly AddressBuckets _requests = new(options.Value.AddressRequestsPerSecond, options.Value.AddressBurst, Clock);
    private readonly AddressBuckets _failures = new(options.Value.FailedAuthenticationsPerSecond, options.Value.FailedAuthenticationsBurst, Clock);

    /// <summary>Null to let the request on, or the seconds to wait and why.</summary>
    public (int RetryAfter, string Detail)? Admit(HttpContext http)
    {
        var address = Address(http);
        if (_requests.TryTake(address) is { } wait) return (wait, "This client address's request rate is reached; retry later.");
        if (!http.Request.Headers.ContainsKey("Authorization")) return null;
        // Only failures spend this budget; here it is only asked whether any is left.
        return _failures.Empty(address) is { } retry ? (retry, "Too many failed authentications from this client address; retry later with a valid key.") : null;
    }

    /// <summary>Spends one failed authentication of the request's address.</summary>
    public void RecordFailure(HttpContext http) => _failures.TryTake(Address(http));

    private static string Address(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}
