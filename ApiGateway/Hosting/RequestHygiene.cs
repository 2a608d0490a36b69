using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Smpc.ApiGateway.Auth;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Tenancy;

namespace Smpc.ApiGateway.Hosting;

/// <summary>Rate limits and security headers, bound from <c>Smpc:Gateway:RateLimit</c> and <c>Smpc:Gateway:Cors</c>.</summary>
public sealed class RequestHygieneOptions
{
    /// <summary>Requests per second each credential may make (a token bucket), unless the operator set the tenant's own.</summary>
    public double RequestsPerSecond { get; set; } = 100;

    /// <summary>How many requests a credential may make at once before the rate applies.</summary>
    public int Burst { get; set; } = 200;

    /// <summary>How long a gateway keeps a tenant's limits before asking its grain again.</summary>
    public TimeSpan LimitsCacheTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Origins allowed to call the API from a browser; empty (the default) sends no CORS headers at all.</summary>
    public string[] CorsOrigins { get; set; } = [];

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

/// <summary>
/// Request hygiene for every route: security headers on every response, CORS only for configured origins, and a rate
/// limit per credential (per client address before authentication) answered with 429, a problem and Retry-After.
/// Limits are per gateway; a tenant's own limits are set by the operator (<c>PUT /v1/tenants/{id}/limits</c>).
/// </summary>
public static class RequestHygiene
{
    private const string CorsPolicy = "smpc-cors";

    /// <summary>Registers the options, the partitioned limiter and, if origins are configured, CORS.</summary>
    public static IHostApplicationBuilder AddSmpcRequestHygiene(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<RequestHygieneOptions>(builder.Configuration.GetSection("Smpc:Gateway:RateLimit"));
        builder.Services.Configure<RequestHygieneOptions>(o => o.CorsOrigins = builder.Configuration.GetSection("Smpc:Gateway:Cors:Origins").Get<string[]>() ?? []);
        builder.Services.AddOptions<RequestHygieneOptions>().Validate(o => o.Problem() is null, "Smpc:Gateway:RateLimit holds a rate or burst outside what the limiter can represent (rates 0.001–100000 per second, bursts 1–1000000).").ValidateOnStart();
        builder.Services.AddSingleton<CredentialRateLimiter>();
        builder.Services.AddSingleton<AddressGuard>();
        builder.Services.Configure<QuotaOptions>(builder.Configuration.GetSection("Smpc:Gateway:Quotas"));
        builder.Services.AddSingleton<TenantLimitsCache>();
        builder.Services.AddSingleton<Quotas>();
        var origins = builder.Configuration.GetSection("Smpc:Gateway:Cors:Origins").Get<string[]>() ?? [];
        if (origins.Length > 0)
            builder.Services.AddCors(o => o.AddPolicy(CorsPolicy, p => p.WithOrigins(origins).WithHeaders("Authorization", "Content-Type")
                .WithMethods("GET", "POST", "PUT", "DELETE").WithExposedHeaders("Retry-After", "Repr-Digest")));
        return builder;
    }

    /// <summary>The headers every response carries (the dashboard's pages get their own Content-Security-Policy).</summary>
    public static readonly IReadOnlyList<(string Name, string Value)> SecurityHeaders =
    [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Cache-Control", "no-store"), // keys are shown once; nothing here belongs in a cache
    ];

    /// <summary>Security headers and CORS: before anything else answers.</summary>
    public static WebApplication UseSmpcSecurityHeaders(this WebApplication app)
    {
        app.Use((http, next) =>
        {
            http.Response.OnStarting(() =>
            {
                var headers = http.Response.Headers;
                foreach (var (name, value) in SecurityHeaders) headers[name] = value;
                // The API serves no documents; the operator's dashboard is a page and gets only what it needs.
                if (DashboardGatewayExtensions.IsDashboardRequest(http)) headers.ContentSecurityPolicy = DashboardGatewayExtensions.ContentSecurityPolicy;
                if (http.Request.IsHttps) headers.StrictTransportSecurity = "max-age=31536000";
                return Task.CompletedTask;
            });
            return next(http);
        });
        if (app.Services.GetRequiredService<IOptions<RequestHygieneOptions>>().Value.CorsOrigins.Length > 0) app.UseCors(CorsPolicy);
        return app;
    }

    /// <summary>The longest request line Kestrel reads; the gateway itself refuses targets over <see cref="MaxTargetChars"/>.</summary>
    public const int MaxRequestLineBytes = 64 * 1024;

    /// <summary>The longest request target (path and query) the gateway accepts.</summary>
    public const int MaxTargetChars = 4096;

    /// <summary>
    /// Refuses request targets the router would otherwise normalise or choke on, with a problem: dot segments (<c>/.</c>,
    /// <c>/..</c>, also percent-encoded), which Kestrel resolves before routing and would mislead a path-prefix proxy in
    /// front; NUL or other control characters; targets over <see cref="MaxTargetChars"/>; and API keys pasted into a URL
    /// (refused before routing, so neither a problem nor the router's debug log repeats them).
    /// </summary>
    public static WebApplication UseSmpcTargetChecks(this WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            var raw = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? http.Request.Path.Value ?? "";
            var problem = TargetProblem(raw);
            if (problem is null)
            {
                await next(http);
                return;
            }

            var (status, detail) = problem.Value;
            await Problems.ProblemMapping.Problem(status, Problems.ProblemMapping.TypeForStatus(status), Problems.ProblemMapping.TitleForStatus(status), detail).ExecuteAsync(http);
        });
        return app;
    }

    /// <summary>Why a raw request target is refused, or null.</summary>
    internal static (int Status, string Detail)? TargetProblem(string raw)
    {
        if (raw.Length > MaxTargetChars) return (StatusCodes.Status414UriTooLong, $"Request targets are limited to {MaxTargetChars} characters.");
        // No id contains '_', so "smpc_…" in a target is a pasted API key: refused before routing, never echoed.
        if (raw.Contains("smpc_", StringComparison.OrdinalIgnoreCase) || raw.Contains("smpc%5f", StringComparison.OrdinalIgnoreCase))
            return (StatusCodes.Status400BadRequest, "The URL holds what looks like an API key. Keys belong in the Authorization header only; rotate a key that was sent in a URL.");
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? raw : raw[..query];
        string decoded;
        try
        {
            decoded = Uri.UnescapeDataString(path);
        }
        catch (UriFormatException)
        {
            return (StatusCodes.Status400BadRequest, "The request path is not valid percent-encoding.");
        }

        if (decoded.Any(char.IsControl)) return (StatusCodes.Status400BadRequest, "The request path contains control characters.");
        foreach (var segment in decoded.Split('/'))
            if (segment is "." or "..") return (StatusCodes.Status400BadRequest, "The request path contains a '.' or '..' segment; send the path as it is meant.");
        return null;
    }

    /// <summary>
    /// The per-address limits, before authentication: every request counts against its address's bucket, and an address
    /// whose failed-authentication budget is spent gets 429 for any request that presents a key, before the key is looked up.
    /// So a flood of random keys activates at most the budget's worth of credential grains per address.
    /// </summary>
    public static WebApplication UseSmpcAddressLimit(this WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            var guard = http.RequestServices.GetRequiredService<AddressGuard>();
            var refusal = guard.Admit(http);
            if (refusal is null)
            {
                await next(http);
                return;
            }

            var (retry, detail) = refusal.Value;
            http.Response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
            await Problems.ProblemMapping.Problem(StatusCodes.Status429TooManyRequests, ProblemTypes.TooManyRequests, "Too many requests", detail).ExecuteAsync(http);
        });
        return app;
    }

    /// <summary>The rate limit: after authentication, so it can count per credential.</summary>
    public static WebApplication UseSmpcRateLimit(this WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            var limiter = http.RequestServices.GetRequiredService<CredentialRateLimiter>();
            using var lease = await limiter.AcquireAsync(http);
            if (lease.IsAcquired)
            {
                await next(http);
                return;
            }

            var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 1;
            http.Response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
            await Problems.ProblemMapping.Problem(StatusCodes.Status429TooManyRequests, ProblemTypes.TooManyRequests, "Too many requests",
                $"This credential's rate limit is reached; retry after {retry} s.").ExecuteAsync(http);
        });
        return app;
    }

    /// <summary>Token buckets per client address: one for all requests, one for failed authentications.</summary>
    /// <remarks>On real time, like the per-credential limiter, not the service clock that tests move.</remarks>
    internal sealed class AddressGuard(IOptions<RequestHygieneOptions> options)
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

    /// <summary>
    /// Token buckets keyed by client address. Bounded: when more than <see cref="MaxAddresses"/> are
    /// tracked, buckets that have refilled completely (idle addresses) are dropped, which forgets nothing that matters.
    /// </summary>
    internal sealed class AddressBuckets(double rate, int burst, TimeProvider time)
    {
        private const int MaxAddresses = 100_000;
        private readonly double _rate = double.IsFinite(rate) ? Math.Clamp(rate, TenantLimits.MinRequestsPerSecond, TenantLimits.MaxRequestsPerSecond) : TenantLimits.MinRequestsPerSecond;
        private readonly double _burst = Math.Clamp(burst, 1, TenantLimits.MaxBurst);
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

        /// <summary>Takes a token: null when one was there, else the whole seconds until one will be.</summary>
        public int? TryTake(string address)
        {
            var bucket = Get(address);
            lock (bucket)
            {
                Refill(bucket);
                if (bucket.Tokens >= 1)
                {
                    bucket.Tokens -= 1;
                    return null;
                }

                return Wait(bucket);
            }
        }

        /// <summary>Null when a token is there (none is taken), else the whole seconds until one will be.</summary>
        public int? Empty(string address)
        {
            if (!_buckets.TryGetValue(address, out var bucket)) return null;
            lock (bucket)
            {
                Refill(bucket);
                return bucket.Tokens >= 1 ? null : Wait(bucket);
            }
        }

        private Bucket Get(string address)
        {
            if (_buckets.Count > MaxAddresses)
            {
                foreach (var (key, idle) in _buckets)
                {
                    lock (idle)
                    {
                        Refill(idle);
                        if (idle.Tokens >= _burst) _buckets.TryRemove(key, out _);
                    }
                }
            }

            return _buckets.GetOrAdd(address, _ => new Bucket { Tokens = _burst, At = time.GetUtcNow() });
        }

        private void Refill(Bucket bucket)
        {
            var now = time.GetUtcNow();
            var elapsed = (now - bucket.At).TotalSeconds;
            if (elapsed > 0) bucket.Tokens = Math.Min(_burst, bucket.Tokens + elapsed * _rate);
            bucket.At = now;
        }

        private int Wait(Bucket bucket) => Math.Max(1, (int)Math.Ceiling((1 - bucket.Tokens) / _rate));

        private sealed class Bucket
        {
            public double Tokens;
            public DateTimeOffset At;
        }
    }

    /// <summary>A token bucket of <paramref name="burst"/> refilled at <paramref name="rate"/> per second (clamped to what it can represent).</summary>
    internal static TokenBucketRateLimiterOptions Bucket(double rate, int burst)
    {
        rate = double.IsFinite(rate) ? Math.Clamp(rate, TenantLimits.MinRequestsPerSecond, TenantLimits.MaxRequestsPerSecond) : TenantLimits.MinRequestsPerSecond;
        // A period of at least one token: slow rates (below 1/s) refill one token every 1/rate seconds.
        var period = rate >= 1 ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(1 / rate);
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Clamp(burst, 1, TenantLimits.MaxBurst),
            TokensPerPeriod = Math.Max(1, (int)Math.Round(rate * period.TotalSeconds)),
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    /// <summary>One token bucket per credential (or client address), sized by the tenant's limits or the defaults.</summary>
    internal sealed class CredentialRateLimiter(IOptions<RequestHygieneOptions> options, TenantLimitsCache tenants) : IDisposable
    {
        private readonly PartitionedRateLimiter<HttpContext> _limiter = PartitionedRateLimiter.Create<HttpContext, (string Who, double Rate, int Burst)>(http =>
        {
            var partition = ((string Who, double Rate, int Burst))http.Items[typeof(CredentialRateLimiter)]!;
            return RateLimitPartition.GetTokenBucketLimiter(partition, key => Bucket(key.Rate, key.Burst));
        });

        public async ValueTask<RateLimitLease> AcquireAsync(HttpContext http)
        {
            var defaults = options.Value;
            var caller = http.User.Identity?.IsAuthenticated == true ? http.User.ToCaller() : null;
            var limits = caller?.Tenant is { } tenant ? await tenants.GetAsync(tenant) : null;
            var who = caller?.KeyId ?? caller?.Role.ToString() ?? "ip:" + http.Connection.RemoteIpAddress;
            http.Items[typeof(CredentialRateLimiter)] = (who, limits?.RequestsPerSecond ?? defaults.RequestsPerSecond, limits?.Burst ?? defaults.Burst);
            return _limiter.AttemptAcquire(http);
        }

        public void Dispose() => _limiter.Dispose();
    }
}
