using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Webhooks;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Audit;

/// <summary>
/// A tenant's append-only audit log. Appends are serialized by this (non-reentrant) grain, so sequence numbers are
/// gap-free and ordered: the entries are written to their page first, then the head, and readers see only entries at or
/// below the head last stored. An append whose head write fails leaves entries past the head in a page, invisible;
/// the next append replaces them (they were never acknowledged nor readable).
/// </summary>
[GrainType("audit-log")]
public sealed class AuditLogGrain(
    [PersistentState("audit-log", SmpcDatabase.GrainStorageName)] IPersistentState<AuditLogState> state,
    TimeProvider time) : Grain, IAuditLogGrain
{
    /// <summary>Pages one read may scan, so a filter that matches little costs a bounded amount per request.</summary>
    public const int MaxPagesPerQuery = 8;

    /// <summary>Longest detail text stored; longer ones are cut.</summary>
    public const int MaxDetailLength = 1000;

    /// <summary>The head as last durably stored: what reads may see (an interleaved read never sees an unsaved append).</summary>
    private long _durableHead;

    private string Tenant => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _durableHead = state.State.Head;
        return Task.CompletedTask;
    }

    async Task<long> IAuditLogGrain.AppendAsync(IReadOnlyList<AuditEvent> events)
    {
        if (events.Count == 0) return _durableHead;
        using var activity = SmpcTelemetry.Grains.StartActivity("audit.append");
        activity?.SetTag(SmpcTelemetry.TenantAttribute, Tenant);
        var now = time.GetUtcNow();
        var first = state.State.Head + 1;
        var entries = events.Select((e, i) => ToEntry(first + i, now, e)).ToList();
        foreach (var page in entries.GroupBy(e => AuditPageKey.PageOf(e.Sequence)))
            await GrainFactory.GetAuditPage(new AuditPageKey(Tenant, page.Key)).AppendAsync([.. page]);
        state.State.Head = entries[^1].Sequence;
        await state.WriteOrRollbackAsync(this, "audit.append");
        _durableHead = state.State.Head;
        // One-way: the append never waits for webhooks; a lost poke is made up by the next one, the dispatcher's reminder or a silo start.
        if (state.State.Followed) GrainFactory.GetWebhooks(Tenant).NotifyAsync().Ignore();
        return _durableHead;
    }

    async Task<long> IAuditLogGrain.FollowAsync(bool followed)
    {
        if (state.State.Followed != followed)
        {
            state.State.Followed = followed;
            await state.WriteOrRollbackAsync(this, "audit.follow");
        }

        return _durableHead;
    }

    Task<AuditQueryResult> IAuditLogGrain.ReadAsync(long after, int limit) =>
        ScanAsync(new AuditQuery(Math.Max(0, after), Math.Clamp(limit, 1, AuditQuery.MaxLimit)));

    async Task<AuditQueryResult> IAuditLogGrain.QueryAsync(Caller caller, AuditQuery query)
    {
        var tenant = Tenant;
        caller.RequireTenant(tenant, $"Tenant '{tenant}'");
        // A pod reads what involves itself; everything else is the tenant admin's.
        if (query.Pod is null || !caller.Is(CallerRole.Pod, tenant, query.Pod)) caller.RequireRole(CallerRole.TenantAdmin);
        if (query.Limit is < 1 or > AuditQuery.MaxLimit) throw SmpcException.Invalid($"limit must be between 1 and {AuditQuery.MaxLimit}.");
        if (query.After < 0) throw SmpcException.Invalid("after must be a sequence number (0 or more).");
        return await ScanAsync(query);
    }

    private async Task<AuditQueryResult> ScanAsync(AuditQuery query)
    {
        var tenant = Tenant;
        var head = _durableHead;
        var end = Math.Min(head, query.Through ?? long.MaxValue);
        var cursor = query.After;
        var found = new List<AuditEntry>();
        for (var pages = 0; cursor < end && found.Count < query.Limit && pages < MaxPagesPerQuery; pages++)
        {
            var key = AuditPageKey.For(tenant, cursor + 1);
            var pageEnd = Math.Min(end, key.LastSequence);
            foreach (var entry in await GrainFactory.GetAuditPage(key).ReadAsync(cursor, pageEnd))
            {
                cursor = entry.Sequence;
                if (query.Matches(entry)) found.Add(entry);
                if (found.Count == query.Limit) break;
            }

            if (found.Count < query.Limit) cursor = pageEnd; // the page was scanned to its end
        }

        return new AuditQueryResult(found, cursor < end ? cursor : null, head);
    }

    private static AuditEntry ToEntry(long sequence, DateTimeOffset now, AuditEvent e)
    {
        if (string.IsNullOrWhiteSpace(e.Type)) throw SmpcException.Invalid("An audit event needs a type.");
        var detail = e.Detail is { Length: > MaxDetailLength } text ? text[..(MaxDetailLength - 1)] + "…" : e.Detail;
        return new AuditEntry(sequence, now, e.Type, e.Actor, e.Session, [.. e.Pods ?? []], e.Modeller, e.KeyId, e.TraceId, detail);
    }
}
