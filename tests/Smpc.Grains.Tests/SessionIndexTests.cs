using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Storage;
using Smpc.TestSupport;

namespace Smpc.Grains.Tests;

/// <summary>The session index against real SQLite storage: older sessions imported on the first list, failed updates healed.</summary>
public sealed class SessionIndexTests : IAsyncLifetime
{
    private readonly TwoSiloCluster _cluster = new();

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task ASessionStoredBeforeTheIndex_IsListedFromThePodsLists_OnTheFirstList()
    {
        var grains = _cluster.Grains;
        var tenant = await Seed.TenantWithMembersAsync(grains);
        var key = new EntityKey(tenant, "old-secagg");
        // A row of the single session grain of earlier versions, never activated since: the index has never heard of it.
        var storage = _cluster.Cluster.GetSiloServiceProvider().GetRequiredKeyedService<IGrainStorage>(SmpcDatabase.GrainStorageName);
        using var document = JsonDocument.Parse("""
            {"ModellerId":"m1","Kind":1,"PodIds":["p1","p2","p3"],"Phase":12,"CreatedAt":"2026-11-01T09:00:00+00:00","Version":5,
             "TraceParent":null,"Aggregation":null,"Psi":null,"Federated":null,"Parent":null,
             "Cancellation":{"Role":"TenantAdmin","By":null,"Reason":"old","At":"2026-11-01T10:00:00+00:00"}}
            """);
        await storage.WriteStateAsync("session", GrainId.Create("session", key.ToString()), new GrainState<JsonElement>(document.RootElement.Clone()));
        foreach (var pod in new[] { "p1", "p2", "p3" }) await grains.GetPod(new EntityKey(tenant, pod)).AddSessionAsync(key.Id);
        await grains.GetSession(new EntityKey(tenant, "new")).CreateAsync(Seed.Modeller(tenant), Seed.AggregationSession());

        var page = await grains.GetGrain<ISessionIndexGrain>(tenant).ListAsync(Seed.Admin(tenant), new SessionListQuery());

        Assert.Equal(["new", "old-secagg"], page.Items.Select(r => r.Id));
        var old = page.Items[1];
        Assert.Equal((SessionPhase.Cancelled, 5, new DateTimeOffset(2026, 11, 1, 9, 0, 0, TimeSpan.Zero)), (old.Phase, old.Version, old.CreatedAt));
        Assert.NotNull(old.EndedAt); // ended before the end time was recorded: its last known change stands in
        var counts = await grains.GetGrain<ISessionIndexGrain>(tenant).GetCountsAsync();
        Assert.Equal(1, counts[SessionPhase.Cancelled]);
        Assert.Equal(2, counts.Values.Sum());
    }

    [Fact]
    public async Task AFailedIndexUpdate_DoesNotFailTheSessionsRequest_AndTheRowIsHealedOnceStorageIsBack()
    {
        var grains = _cluster.Grains;
        var tenant = await Seed.TenantWithMembersAsync(grains);
        var session = grains.GetSession(new EntityKey(tenant, "s1"));
        await session.CreateAsync(Seed.Modeller(tenant), Seed.AggregationSession());
        var index = grains.GetGrain<ISessionIndexGrain>(tenant);
        Assert.Equal(SessionPhase.KeyExchange, (await index.ListAsync(Seed.Admin(tenant), new SessionListQuery())).Items.Single().Phase);

        await _cluster.Storage.ExecuteAsync("""
            CREATE TRIGGER fail_index BEFORE UPDATE ON OrleansStorage WHEN NEW.GrainTypeString LIKE '%session-index-page%' BEGIN SELECT RAISE(ABORT, 'injected'); END;
            """);
        var cancelled = await session.CancelAsync(Seed.Admin(tenant), "index down", null);
        Assert.Equal(SessionPhase.Cancelled, cancelled.Phase); // the session's own write stands
        Assert.Equal(SessionPhase.KeyExchange, (await index.ListAsync(Seed.Admin(tenant), new SessionListQuery())).Items.Single().Phase);

        await _cluster.Storage.ExecuteAsync("DROP TRIGGER fail_index;");
        Assert.True(await Poll.UntilAsync(async () =>
            (await index.ListAsync(Seed.Admin(tenant), new SessionListQuery())).Items.Single() is { Phase: SessionPhase.Cancelled, Version: 2 }, TimeSpan.FromMinutes(1)),
            "the session grain's retry brings the index up to date");
        Assert.Equal(1, (await index.GetCountsAsync())[SessionPhase.Cancelled]);
    }

    [Fact]
    public async Task TheCensus_SumsEveryTenantsExactCounts_AndIgnoresAnOlderReport()
    {
        var grains = _cluster.Grains;
        var a = await Seed.TenantWithMembersAsync(grains);
        var b = await Seed.TenantWithMembersAsync(grains);
        foreach (var (tenant, id) in new[] { (a, "a1"), (a, "a2"), (b, "b1") })
            await grains.GetSession(new EntityKey(tenant, id)).CreateAsync(Seed.Modeller(tenant), Seed.AggregationSession());
        await grains.GetSession(new EntityKey(a, "a1")).CancelAsync(Seed.Modeller(a), null, null);
        var census = grains.GetGrain<ISessionCensusGrain>(ISessionCensusGrain.Key);

        var counts = await census.GetCountsAsync();
        Assert.Equal(new Dictionary<SessionPhase, long> { [SessionPhase.KeyExchange] = 2, [SessionPhase.Cancelled] = 1 }, counts.OrderBy(c => c.Key).ToDictionary());

        // A report older than the one kept (e.g. from before a failover) changes nothing; a newer one replaces the tenant's.
        await census.ReportAsync(b, 0, new Dictionary<SessionPhase, long> { [SessionPhase.Created] = 99 });
        Assert.Equal(3, (await census.GetCountsAsync()).Values.Sum());
        await census.ReportAsync(b, long.MaxValue, new Dictionary<SessionPhase, long>());
        Assert.Equal(new Dictionary<SessionPhase, long> { [SessionPhase.KeyExchange] = 1, [SessionPhase.Cancelled] = 1 }, (await census.GetCountsAsync()).OrderBy(c => c.Key).ToDictionary());
    }
}
