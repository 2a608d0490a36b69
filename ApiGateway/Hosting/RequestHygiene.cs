using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Smpc.ApiGateway.Auth;
using Smpc.Client.Contracts;

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
        builder.Services.AddSingleton<CredentialRateLimiter>();
        builder.Services.Configure<QuotaOptions>(builder.Configuration.GetSection("Smpc:Gateway:Quotas"));
        builder.Services.AddSingleton<TenantLimitsCache>();
        builder.Services.AddSingleton<Quotas>();
        var origins = builder.Configuration.GetSection("Smpc:Gateway:Cors:Origins").Get<string[]>() ?? [];
        if (origins.Length > 0)
            builder.Services.AddCors(o => o.AddPolicy(CorsPolicy, p => p.WithOrigins(origins).WithHeaders("Authorization", "Content-Type")
                .WithMethods("GET", "POST", "PUT", "DELETE").WithExposedHeaders("Retry-After", "Repr-Digest")));
        return builder;
    }

    /// <summary>Security headers and CORS: before anything else answers.</summary>
    public static WebApplication UseSmpcSecurityHeaders(this WebApplication app)
    {
        app.Use((http, next) =>
        {
            http.Response.OnStarting(() =>
            {
                var headers = http.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                // The API serves no documents; the operator's dashboard is a page and gets only what it needs.
                headers.ContentSecurityPolicy = DashboardGatewayExtensions.IsDashboardRequest(http)
                    ? DashboardGatewayExtensions.ContentSecurityPolicy
                    : "default-src 'none'; frame-ancestors 'none'";
                headers["Referrer-Policy"] = "no-referrer";
                headers["Cross-Origin-Resource-Policy"] = "same-origin";
                headers.CacheControl = "no-store"; // keys are shown once; nothing here belongs in a cache
                if (http.Request.IsHttps) headers.StrictTransportSecurity = "max-age=31536000";
                return Task.CompletedTask;
            });
            return next(http);
        });
        if (app.Services.GetRequiredService<IOptions<RequestHygieneOptions>>().Value.CorsOrigins.Length > 0) app.UseCors(CorsPolicy);
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

    /// <summary>One token bucket per credential (or client address), sized by the tenant's limits or the defaults.</summary>
    internal sealed class CredentialRateLimiter(IOptions<RequestHygieneOptions> options, TenantLimitsCache tenants) : IDisposable
    {
        private readonly PartitionedRateLimiter<HttpContext> _limiter = PartitionedRateLimiter.Create<HttpContext, (string Who, double Rate, int Burst)>(http =>
        {
            var partition = ((string Who, double Rate, int Burst))http.Items[typeof(CredentialRateLimiter)]!;
            return RateLimitPartition.GetTokenBucketLimiter(partition, key => new TokenBucketRateLimiterOptions
            {
                TokenLimit = key.Burst,
                TokensPerPeriod = Math.Max(1, (int)Math.Round(key.Rate * PeriodFor(key.Rate).TotalSeconds)),
                ReplenishmentPeriod = PeriodFor(key.Rate),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
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

        /// <summary>A period of at least one token: slow rates (below 1/s) refill one token every 1/rate seconds.</summary>
        private static TimeSpan PeriodFor(double rate) => rate >= 1 ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(1 / rate);

        public void Dispose() => _limiter.Dispose();
    }
}
