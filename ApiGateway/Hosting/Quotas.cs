using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Tenancy;

namespace Smpc.ApiGateway.Hosting;

/// <summary>Default quotas of a tenant (the operator overrides them per tenant), bound from <c>Smpc:Gateway:Quotas</c>.</summary>
public sealed class QuotaOptions
{
    /// <summary>Sessions (of any kind, rounds included) a tenant may have running at once.</summary>
    public int MaxConcurrentSessions { get; set; } = 1_000;

    /// <summary>Payload bytes (masked vectors, PSI sets, releases, generic payloads) a tenant may store per UTC day.</summary>
    public long PayloadBytesPerDay { get; set; } = 1L << 40;

    /// <summary>PSI set elements a tenant may store per UTC day.</summary>
    public long PsiElementsPerDay { get; set; } = 1_000_000_000;
}

/// <summary>A quota is used up: answered 429 with a problem of type quota-exceeded and Retry-After.</summary>
public sealed class QuotaExceededException(string message, int retryAfterSeconds) : Exception(message)
{
    /// <summary>When trying again may succeed: the next UTC day for daily quotas.</summary>
    public int RetryAfterSeconds { get; } = retryAfterSeconds;
}

/// <summary>A gateway's short-lived copy of each tenant's operator-set limits (read from its grain at most every few seconds).</summary>
public sealed class TenantLimitsCache(IGrainFactory grains, TimeProvider time, IOptions<RateLimitOptions> options)
{
    private readonly ConcurrentDictionary<string, (TenantLimits? Limits, DateTimeOffset Until)> _tenants = new();

    /// <summary>The tenant's limits, or null for the defaults.</summary>
    public async ValueTask<TenantLimits?> GetAsync(string tenant)
    {
        var now = time.GetUtcNow();
        if (_tenants.TryGetValue(tenant, out var cached) && cached.Until > now) return cached.Limits;
        var limits = EntityKey.IsValidId(tenant) ? await grains.GetTenant(tenant).GetLimitsAsync() : null;
        _tenants[tenant] = (limits, now + options.Value.LimitsCacheTime);
        return limits;
    }
}

/// <summary>
/// The quotas that hold across gateways: sessions running at once (checked when a session is created), and payload bytes
/// and PSI elements per UTC day. Uploads are counted as they stream, chunk by chunk, each chunk checked and counted in one
/// grain turn before it is stored (<see cref="UploadMeter"/>), so neither an undeclared (chunked) length nor concurrent
/// uploads can pass a daily quota; a declared length over the quota is refused before anything is read. Bytes received are
/// counted even if the upload is later refused.
/// </summary>
public sealed class Quotas(TenantLimitsCache limits, IOptions<QuotaOptions> defaults, IGrainFactory grains, TimeProvider time)
{
    /// <summary>Admits a new session of <paramref name="tenant"/> or throws <see cref="QuotaExceededException"/>.</summary>
    public async Task RequireSessionSlotAsync(string tenant, string sessionId)
    {
        var limit = (await limits.GetAsync(tenant))?.MaxConcurrentSessions ?? defaults.Value.MaxConcurrentSessions;
        if (!await grains.GetGrain<ITenantSessionsGrain>(tenant).TryOpenAsync(sessionId, limit))
            throw new QuotaExceededException($"Tenant '{tenant}' already runs {limit} sessions, its quota; retry when one ends.", 60);
    }

    /// <summary>Throws <see cref="QuotaExceededException"/> if <paramref name="amount"/> more of <paramref name="kind"/> would pass today's quota.</summary>
    public async Task RequireDailyAsync(string tenant, UsageKind kind, long amount)
    {
        var limit = await DailyLimitAsync(tenant, kind);
        if (!await Today(tenant).FitsAsync(kind, amount, limit)) throw Exceeded(tenant, kind, limit);
    }

    private async Task<long> DailyLimitAsync(string tenant, UsageKind kind)
    {
        var tenantLimits = await limits.GetAsync(tenant);
        return kind == UsageKind.PayloadBytes
            ? tenantLimits?.PayloadBytesPerDay ?? defaults.Value.PayloadBytesPerDay
            : tenantLimits?.PsiElementsPerDay ?? defaults.Value.PsiElementsPerDay;
    }

    private QuotaExceededException Exceeded(string tenant, UsageKind kind, long limit)
    {
        var now = time.GetUtcNow();
        var midnight = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        var what = kind == UsageKind.PayloadBytes ? "payload bytes" : "PSI elements";
        return new QuotaExceededException($"Tenant '{tenant}' would pass its quota of {limit.ToString("N0", CultureInfo.InvariantCulture)} {what} per day; it resets at 00:00 UTC.",
            Math.Max(1, (int)Math.Ceiling((midnight - now).TotalSeconds)));
    }

    /// <summary>Counts <paramref name="amount"/> more of <paramref name="kind"/>, or throws <see cref="QuotaExceededException"/> (counting nothing) if it would pass today's quota.</summary>
    public async Task ConsumeDailyAsync(string tenant, UsageKind kind, long amount)
    {
        var limit = await DailyLimitAsync(tenant, kind);
        if (!await Today(tenant).TryAddAsync(kind, amount, limit)) throw Exceeded(tenant, kind, limit);
    }

    /// <summary>A meter for one upload of <paramref name="tenant"/>: PSI uploads also count whole elements of <paramref name="elementBytes"/>.</summary>
    public UploadMeter Meter(string tenant, int elementBytes = 0) => new(this, tenant, elementBytes);

    private ITenantUsageGrain Today(string tenant) =>
        grains.GetGrain<ITenantUsageGrain>($"{tenant}/{time.GetUtcNow().UtcDateTime:yyyy-MM-dd}");
}

/// <summary>Counts one upload against its tenant's daily quotas as it streams: each chunk is counted before it is stored.</summary>
public sealed class UploadMeter(Quotas quotas, string tenant, int elementBytes)
{
    /// <summary>Bytes counted so far.</summary>
    public long Bytes { get; private set; }

    /// <summary>Counts the next <paramref name="chunkBytes"/> bytes (and the whole elements they complete), or throws <see cref="QuotaExceededException"/>.</summary>
    public async Task CountAsync(int chunkBytes)
    {
        await quotas.ConsumeDailyAsync(tenant, UsageKind.PayloadBytes, chunkBytes);
        var before = Bytes;
        Bytes += chunkBytes;
        if (elementBytes > 0 && Bytes / elementBytes - before / elementBytes is > 0 and var elements)
            await quotas.ConsumeDailyAsync(tenant, UsageKind.PsiElements, elements);
    }
}
