namespace Smpc.Grains.Interfaces.Tenancy;

/// <summary>What a daily quota counts.</summary>
public enum UsageKind
{
    /// <summary>Bytes of payloads stored (masked vectors, PSI sets, releases, generic payloads).</summary>
    PayloadBytes = 1,
    /// <summary>PSI set elements stored (either side's sets).</summary>
    PsiElements = 2,
}

/// <summary>A tenant's usage on one UTC day, counted across every gateway. Keyed <c>"{tenant}/{yyyy-MM-dd}"</c>.</summary>
[Alias("smpc.tenant-usage")]
public interface ITenantUsageGrain : IGrainWithStringKey
{
    /// <summary>
    /// Counts every charge if each fits under its limit together with what its upload still declares to come (check and
    /// count in one turn, so concurrent uploads through any gateways cannot pass a quota); otherwise counts nothing and
    /// answers the first kind that would pass its limit.
    /// </summary>
    [Alias("try-charge")] Task<UsageKind?> TryChargeAsync(IReadOnlyList<UsageCharge> charges);

    /// <summary>Today's totals so far.</summary>
    [Alias("get")] Task<IReadOnlyDictionary<UsageKind, long>> GetAsync();
}

/// <summary>The sessions of a tenant that are running, for its concurrent-session quota. Keyed by tenant.</summary>
[Alias("smpc.tenant-sessions")]
public interface ITenantSessionsGrain : IGrainWithStringKey
{
    /// <summary>
    /// Admits session <paramref name="sessionId"/> if fewer than <paramref name="limit"/> others are running (ended ones are
    /// forgotten first); true for a session already admitted.
    /// </summary>
    [Alias("try-open")] Task<bool> TryOpenAsync(string sessionId, int limit);
}
