using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;
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
/// and PSI elements per UTC day. Uploads are counted by the payload grain as they stream, chunk by chunk: each chunk is
/// checked and counted against the tenant's usage in the payload grain's turn before it is stored, so neither an undeclared
/// (chunked) length nor concurrent uploads through any gateways can pass a daily quota, and a declared length over the
/// quota is refused at the first chunk. The gateway supplies the limits (<see cref="ForUploadAsync"/>). Bytes stored are
/// counted even if the upload is later refused.
/// </summary>
public sealed class Quotas(TenantLimitsCache limits, IOptions<QuotaOptions> defaults, IGrainFactory grains, TimeProvider time, ILogger<Quotas>? log = null)
{
    /// <summary>The names of the quotas in <c>quota.reached</c> events (the webhook's <c>category</c>).</summary>
    public const string ConcurrentSessionsQuota = "max-concurrent-sessions", PayloadBytesQuota = "payload-bytes-per-day", PsiElementsQuota = "psi-elements-per-day";

    /// <summary>The (tenant, quota) pairs this gateway already reported, with the UTC day: most refusals then cost no grain call.</summary>
    private readonly ConcurrentDictionary<(string Tenant, string Quota), DateOnly> _noticed = new();

    /// <summary>Admits a new session of <paramref name="tenant"/> or throws <see cref="QuotaExceededException"/>.</summary>
    public async Task RequireSessionSlotAsync(string tenant, string sessionId)
    {
        var limit = (await limits.GetAsync(tenant))?.MaxConcurrentSessions ?? defaults.Value.MaxConcurrentSessions;
        if (!await grains.GetGrain<ITenantSessionsGrain>(tenant).TryOpenAsync(sessionId, limit))
        {
            SmpcTelemetry.QuotaRejections.Add(1, new KeyValuePair<string, object?>(SmpcTelemetry.QuotaTag, "concurrent_sessions"));
            NoticeReached(tenant, ConcurrentSessionsQuota, limit);
            throw new QuotaExceededException($"Tenant '{tenant}' already runs {limit} sessions, its quota; retry when one ends.", 60);
        }
    }

    /// <summary>An upload of <paramref name="tenant"/> whose client declared <paramref name="declaredBytes"/> (0: unknown), under the tenant's daily limits.</summary>
    public async Task<MeteredUpload> ForUploadAsync(string tenant, long declaredBytes = 0)
    {
        var tenantLimits = await limits.GetAsync(tenant);
        var quota = new UploadQuota(
            tenantLimits?.PayloadBytesPerDay ?? defaults.Value.PayloadBytesPerDay,
            tenantLimits?.PsiElementsPerDay ?? defaults.Value.PsiElementsPerDay,
            Math.Max(0, declaredBytes));
        return new MeteredUpload(this, tenant, quota);
    }

    /// <summary>The refusal of a chunk that would pass <paramref name="tenant"/>'s daily quota of <paramref name="kind"/>, retried after midnight UTC.</summary>
    public QuotaExceededException Exceeded(string tenant, UsageKind kind, long limit)
    {
        var now = time.GetUtcNow();
        var midnight = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        var what = kind == UsageKind.PayloadBytes ? "payload bytes" : "PSI elements";
        SmpcTelemetry.QuotaRejections.Add(1, new KeyValuePair<string, object?>(SmpcTelemetry.QuotaTag, kind == UsageKind.PayloadBytes ? "payload_bytes" : "psi_elements"));
        NoticeReached(tenant, kind == UsageKind.PayloadBytes ? PayloadBytesQuota : PsiElementsQuota, limit);
        return new QuotaExceededException($"Tenant '{tenant}' would pass its quota of {limit.ToString("N0", CultureInfo.InvariantCulture)} {what} per day; it resets at 00:00 UTC.",
            Math.Max(1, (int)Math.Ceiling((midnight - now).TotalSeconds)));
    }

    /// <summary>
    /// Records <c>quota.reached</c> (once per tenant, quota and UTC day: the notice grain decides across gateways) without
    /// delaying the 429: the refusal is what the caller needs, the event is for webhooks and the audit log.
    /// </summary>
    private void NoticeReached(string tenant, string quota, long limit)
    {
        var day = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        if (_noticed.TryGetValue((tenant, quota), out var seen) && seen >= day) return;
        _noticed[(tenant, quota)] = day;
        _ = NoticeAsync();

        async Task NoticeAsync()
        {
            try
            {
                await grains.GetGrain<IQuotaNoticeGrain>(tenant).ReachedAsync(quota, limit, day);
            }
            catch (Exception ex)
            {
                _noticed.TryRemove((tenant, quota), out _); // the next refusal tries again
                log?.LogWarning("Could not record quota.reached of tenant {Tenant} ({Quota}): {Error}", tenant, quota, ex.GetType().Name + ": " + ex.Message);
            }
        }
    }
}

/// <summary>One client upload as the payload grain meters it: its tenant's daily limits, and the refusal to answer when a chunk would pass one.</summary>
public sealed class MeteredUpload(Quotas quotas, string tenant, UploadQuota quota)
{
    /// <summary>The limits (and declared length) the payload grain counts each chunk against.</summary>
    public UploadQuota Quota { get; } = quota;

    /// <summary>The receipt of a stored chunk, or <see cref="QuotaExceededException"/> when the chunk was refused over a quota (nothing stored or counted).</summary>
    public ChunkReceipt Check(ChunkReceipt receipt) => receipt.OverQuota switch
    {
        null => receipt,
        UsageKind.PsiElements => throw quotas.Exceeded(tenant, UsageKind.PsiElements, Quota.PsiElementsPerDay),
        var kind => throw quotas.Exceeded(tenant, kind.Value, Quota.PayloadBytesPerDay),
    };
}
