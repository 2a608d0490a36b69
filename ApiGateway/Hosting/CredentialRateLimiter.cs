using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Smpc.ApiGateway.Auth;
using Smpc.Grains.Interfaces.Tenancy;

namespace Smpc.ApiGateway.Hosting;

/// <summary>One token bucket per credential (or client address), sized by the tenant's limits or the defaults.</summary>
internal sealed class CredentialRateLimiter(IOptions<RateLimitOptions> options, TenantLimitsCache tenants) : IDisposable
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
}
