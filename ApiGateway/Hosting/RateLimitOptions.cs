using Smpc.Grains.Interfaces.Tenancy;

namespace Smpc.ApiGateway.Hosting;

/// <summary>The gateway's rate limits (per credential, per client address, failed authentications), bound from <c>Smpc:Gateway:RateLimit</c>.</summary>
public sealed class RateLimitOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Smpc:Gateway:RateLimit";

    /// <summary>Requests per second each credential may make (a token bucket), unless the operator set the tenant's own.</summary>
    public double RequestsPerSecond { get; set; } = 100;

    /// <summary>How many requests a credential may make at once before the rate applies.</summary>
    public int Burst { get; set; } = 200;

    /// <summary>How long a gateway keeps a tenant's limits before asking its grain again.</summary>
    public TimeSpan LimitsCacheTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Requests per second one client address may make, counted before authentication (so before any grain is touched).</summary>
    public double AddressRequestsPerSecond { get; set; } = 2_000;

    /// <summary>Requests one client address may make at once before <see cref="AddressRequestsPerSecond"/> applies.</summary>
    public int AddressBurst { get; set; } = 4_000;

    /// <summary>Failed authentications (unknown, malformed, forged or revoked keys) per second one client address may make.</summary>
    public double FailedAuthenticationsPerSecond { get; set; } = 5;

    /// <summary>Failed authentications one address may make at once; past them its requests with keys get 429 before any key lookup.</summary>
    public int FailedAuthenticationsBurst { get; set; } = 50;

    /// <summary>Why these settings are refused, or null when every limiter can represent them.</summary>
    public string? Problem() =>
        TenantLimits.RateProblem(RequestsPerSecond, Burst) is { } credential ? "Smpc:Gateway:RateLimit: " + credential
        : TenantLimits.RateProblem(AddressRequestsPerSecond, AddressBurst) is { } address ? "Smpc:Gateway:RateLimit:Address*: " + address
        : TenantLimits.RateProblem(FailedAuthenticationsPerSecond, FailedAuthenticationsBurst) is { } failed ? "Smpc:Gateway:RateLimit:FailedAuthentications*: " + failed
        : null;
}
