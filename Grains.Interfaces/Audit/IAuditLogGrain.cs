using Orleans.Concurrency;
using Smpc.Grains.Interfaces.Access;

namespace Smpc.Grains.Interfaces.Audit;

/// <summary>
/// A tenant's append-only audit log, keyed by tenant id. It holds only the head (the last sequence number); the entries
/// live in <see cref="IAuditPageGrain"/>s. Nothing can alter or delete an entry: there is no such method.
/// </summary>
[Alias("smpc.audit-log")]
public interface IAuditLogGrain : IGrainWithStringKey
{
    /// <summary>
    /// Service-internal: appends events in order, numbering them after the last entry with no gaps, and returns the new
    /// head. The entries are visible to readers once this returns; if it throws, none of them is.
    /// </summary>
    [Alias("append")] Task<long> AppendAsync([Immutable] IReadOnlyList<AuditEvent> events);

    /// <summary>
    /// A page of entries. The tenant-wide log is the tenant admin's; a pod may read the entries that involve itself
    /// (<see cref="AuditQuery.Pod"/> = its id). Other tenants see not-found. Read-only, so it may interleave with appends.
    /// </summary>
    [Alias("query"), AlwaysInterleave] Task<AuditQueryResult> QueryAsync(Caller caller, AuditQuery query);

    /// <summary>
    /// Service-internal: whether the tenant's webhook dispatcher follows this log (it is then poked after every append).
    /// Returns the head when the setting took effect: every later entry is followed by a poke.
    /// </summary>
    [Alias("follow")] Task<long> FollowAsync(bool followed);

    /// <summary>Service-internal (the webhook dispatcher): up to <paramref name="limit"/> entries after <paramref name="after"/>, unfiltered.</summary>
    [Alias("read"), AlwaysInterleave] Task<AuditQueryResult> ReadAsync(long after, int limit);
}
