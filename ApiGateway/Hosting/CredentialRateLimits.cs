using System.Globalization;
using System.Threading.RateLimiting;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Diagnostics;

namespace Smpc.ApiGateway.Hosting;

/// <summary>
/// The rate limit per credential (per client address for anonymous requests), after authentication: a token bucket sized
/// by the tenant's own limits (<c>PUT /v1/tenants/{id}/limits</c>) or <see cref="RateLimitOptions"/>, answered with 429, a
/// problem and Retry-After. Limits are per gateway.
/// </summary>
public static class CredentialRateLimits
{
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

            SmpcTelemetry.RateLimitRejections.Add(1, new KeyValuePair<string, object?>(SmpcTelemetry.LimiterTag, "credential"));
            var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 1;
            http.Response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
            await Problems.ProblemMapping.Problem(StatusCodes.Status429TooManyRequests, ProblemTypes.TooManyRequests, "Too many requests",
                $"This credential's rate limit is reached; retry after {retry} s.").ExecuteAsync(http);
        });
        return app;
    }

    /// <summary>Binds and validates <see cref="RateLimitOptions"/>; registers the per-address and per-credential limiters and the tenants' quotas.</summary>
    public static IHostApplicationBuilder AddSmpcRateLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<RateLimitOptions>(builder.Configuration.GetSection(RateLimitOptions.Section));
        builder.Services.AddOptions<RateLimitOptions>().Validate(o => o.Problem() is null, "Smpc:Gateway:RateLimit holds a rate or burst outside what the limiter can represent (rates 0.001–100000 per second, bursts 1–1000000).").ValidateOnStart();
        builder.Services.AddSingleton<CredentialRateLimiter>();
        builder.Services.AddSingleton<AddressRateLimiter>();
        builder.Services.Configure<QuotaOptions>(builder.Configuration.GetSection("Smpc:Gateway:Quotas"));
        builder.Services.AddSingleton<TenantLimitsCache>();
        builder.Services.AddSingleton<Quotas>();
        return builder;
    }
}
