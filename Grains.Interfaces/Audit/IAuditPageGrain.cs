using Orleans.Concurrency;

namespace Smpc.Grains.Interfaces.Audit;

/// <summary>One page of a tenant's audit log (see <see cref="AuditPageKey"/>); written and read only by its <see cref="IAuditLogGrain"/>.</summary>
[Alias("smpc.audit-page")]
public interface IAuditPageGrain : IGrainWithStringKey
{
    /// <summary>Service-internal: stores entries that continue this page's sequence.</summary>
    [Alias("append")] Task AppendAsync([Immutable] IReadOnlyList<AuditEntry> entries);

    /// <summary>Service-internal: the entries with <paramref name="after"/> &lt; sequence ≤ <paramref name="through"/>, in order.</summary>
    [Alias("read"), AlwaysInterleave] Task<IReadOnlyList<AuditEntry>> ReadAsync(long after, long through);
}
