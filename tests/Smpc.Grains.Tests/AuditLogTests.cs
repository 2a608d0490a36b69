using Orleans.Core.Internal;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Errors;

namespace Smpc.Grains.Tests;

/// <summary>The audit log's storage on two silos and real SQLite: gap-free ordered sequence numbers, pages, durability.</summary>
public sealed class AuditLogTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>
{
    private readonly IGrainFactory _grains = cluster.Grains;

    private static AuditEvent Event(string detail) => new(AuditEventTypes.SessionJoined, AuditActor.Service, "s1", ["p1"], Detail: detail);

    private async Task<List<AuditEntry>> ReadAllAsync(string tenant, int limit = AuditQuery.MaxLimit)
    {
        var all = new List<AuditEntry>();
        long? next = 0;
        while (next is { } after)
        {
            var page = await _grains.GetAuditLog(tenant).QueryAsync(Caller.Admin(tenant), new AuditQuery(after, limit));
            all.AddRange(page.Entries);
            next = page.Next;
        }

        return all;
    }

    [Fact]
    public async Task ConcurrentAppends_AreNumberedWithoutGapsInOrder_AcrossPages_AndSurviveDeactivation()
    {
        var tenant = Seed.NewTenantId();
        const int Writers = 30, EachWrites = 10; // 300 entries: more than one page of 256
        var heads = await Task.WhenAll(Enumerable.Range(0, Writers).Select(async w =>
        {
            var mine = new List<long>();
            for (var i = 0; i < EachWrites; i++) mine.Add(await _grains.GetAuditLog(tenant).AppendAsync([Event($"w{w}-{i}")]));
            return mine;
        }));

        var entries = await ReadAllAsync(tenant, limit: 77);
        Assert.Equal(Enumerable.Range(1, Writers * EachWrites).Select(i => (long)i), entries.Select(e => e.Sequence));
        Assert.Equal(heads.SelectMany(h => h).Order(), entries.Select(e => e.Sequence)); // each append returned its own sequence number
        Assert.Equal(Writers * EachWrites, entries.Select(e => e.Detail).Distinct().Count());
        for (var w = 0; w < Writers; w++)
        {
            // One writer's appends keep their order; its returned head is exactly its entry's sequence number.
            var own = entries.Where(e => e.Detail!.StartsWith($"w{w}-", StringComparison.Ordinal)).ToList();
            Assert.Equal(Enumerable.Range(0, EachWrites).Select(i => $"w{w}-{i}"), own.Select(e => e.Detail));
            Assert.Equal(heads[w], own.Select(e => e.Sequence));
        }

        Assert.True(entries.Zip(entries.Skip(1)).All(p => p.First.Time <= p.Second.Time));

        // Deactivate the log and its pages: everything comes back from storage, and numbering continues.
        await _grains.GetAuditLog(tenant).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        foreach (var page in new long[] { 0, 1 })
            await _grains.GetAuditPage(new AuditPageKey(tenant, page)).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        var reloaded = await ReadAllAsync(tenant);
        Assert.Equal(entries.Select(e => (e.Sequence, e.Time, e.Type, e.Detail, e.Actor, e.Session)), reloaded.Select(e => (e.Sequence, e.Time, e.Type, e.Detail, e.Actor, e.Session)));
        Assert.All(reloaded, e => Assert.Equal(["p1"], e.Pods));
        Assert.Equal(Writers * EachWrites + 2, await _grains.GetAuditLog(tenant).AppendAsync([Event("after-1"), Event("after-2")]));
        Assert.Equal(["after-1", "after-2"], (await ReadAllAsync(tenant)).Skip(Writers * EachWrites).Select(e => e.Detail));
    }

    [Fact]
    public async Task ABatchSpanningTwoPages_IsSplitAtThePageBoundary()
    {
        var tenant = Seed.NewTenantId();
        var log = _grains.GetAuditLog(tenant);
        await log.AppendAsync([.. Enumerable.Range(0, AuditPageKey.EntriesPerPage - 2).Select(i => Event($"a{i}"))]);

        Assert.Equal(AuditPageKey.EntriesPerPage + 3, await log.AppendAsync([.. Enumerable.Range(0, 5).Select(i => Event($"b{i}"))]));

        var first = await _grains.GetAuditPage(new AuditPageKey(tenant, 0)).ReadAsync(0, long.MaxValue);
        var second = await _grains.GetAuditPage(new AuditPageKey(tenant, 1)).ReadAsync(0, long.MaxValue);
        Assert.Equal(AuditPageKey.EntriesPerPage, first.Count);
        Assert.Equal(["b2", "b3", "b4"], second.Select(e => e.Detail));
        Assert.Equal(AuditPageKey.EntriesPerPage + 3, (await ReadAllAsync(tenant)).Count);
    }

    [Fact]
    public async Task AnAppendWhoseHeadWriteFails_IsNeverVisible_AndTheNextAppendTakesItsNumber()
    {
        var tenant = Seed.NewTenantId();
        var log = _grains.GetAuditLog(tenant);
        await log.AppendAsync([Event("one"), Event("two")]);

        await cluster.Storage.ExecuteAsync("""
            CREATE TRIGGER fail_audit_head BEFORE UPDATE ON OrleansStorage WHEN NEW.GrainTypeString = 'audit-log' BEGIN SELECT RAISE(ABORT, 'injected'); END;
            """);
        var error = await Assert.ThrowsAsync<SmpcException>(() => log.AppendAsync([Event("lost")]));
        Assert.Equal(SmpcErrorCode.StorageUnavailable, error.Code);
        var whileBroken = await log.QueryAsync(Caller.Admin(tenant), new AuditQuery());
        await cluster.Storage.ExecuteAsync("DROP TRIGGER fail_audit_head;");

        Assert.Equal(["one", "two"], whileBroken.Entries.Select(e => e.Detail)); // the page holds "lost", but past the head
        Assert.Equal(2, whileBroken.Head);
        Assert.Equal(3, await log.AppendAsync([Event("three")]));
        Assert.Equal([(1L, "one"), (2L, "two"), (3L, "three")], (await ReadAllAsync(tenant)).Select(e => (e.Sequence, e.Detail!)));
    }

    [Fact]
    public async Task Query_IsTheTenantAdmins_APodReadsOnlyItsOwnEntries_AndOtherTenantsFindNothing()
    {
        var tenant = Seed.NewTenantId();
        var log = _grains.GetAuditLog(tenant);
        await log.AppendAsync([Event("p1's"), new AuditEvent(AuditEventTypes.SessionJoined, AuditActor.Service, "s2", ["p2"], Detail: "p2's")]);

        var foreign = await Assert.ThrowsAsync<SmpcException>(() => log.QueryAsync(Caller.Admin("elsewhere"), new AuditQuery()));
        var operatorRead = await Assert.ThrowsAsync<SmpcException>(() => log.QueryAsync(Caller.Operator, new AuditQuery()));
        var podWide = await Assert.ThrowsAsync<SmpcException>(() => log.QueryAsync(Caller.Pod(tenant, "p1"), new AuditQuery()));
        var otherPod = await Assert.ThrowsAsync<SmpcException>(() => log.QueryAsync(Caller.Pod(tenant, "p1"), new AuditQuery(Pod: "p2")));
        var modeller = await Assert.ThrowsAsync<SmpcException>(() => log.QueryAsync(Caller.Modeller(tenant, "m1"), new AuditQuery()));
        var tooMany = await Assert.ThrowsAsync<SmpcException>(() => log.QueryAsync(Caller.Admin(tenant), new AuditQuery(Limit: AuditQuery.MaxLimit + 1)));

        Assert.Equal([SmpcErrorCode.NotFound, SmpcErrorCode.NotFound, SmpcErrorCode.Forbidden, SmpcErrorCode.Forbidden, SmpcErrorCode.Forbidden, SmpcErrorCode.Validation],
            new[] { foreign, operatorRead, podWide, otherPod, modeller, tooMany }.Select(e => e.Code));
        Assert.Equal(["p1's"], (await log.QueryAsync(Caller.Pod(tenant, "p1"), new AuditQuery(Pod: "p1"))).Entries.Select(e => e.Detail));
        Assert.Equal(["p2's"], (await log.QueryAsync(Caller.Admin(tenant), new AuditQuery(Pod: "p2"))).Entries.Select(e => e.Detail));
    }
}
