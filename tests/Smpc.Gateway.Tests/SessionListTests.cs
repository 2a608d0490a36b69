using System.Net;
using System.Net.Http.Json;
using Orleans.Runtime;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Gateway.Tests;

/// <summary>GET /v1/tenants/{tenantId}/sessions over the session index: visibility, filters, cursor pages, the counts.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class SessionListTests(EmbeddedService service)
{
    private static Task<SessionPageResponse> Page(SmpcClient c, string tenant, SessionListFilter? filter = null) => c.ListSessionsAsync(tenant, filter);

    private static async Task<string[]> Ids(SmpcClient c, string tenant, SessionListFilter? filter = null) => [.. (await c.ListSessionsAsync(tenant, filter)).Items.Select(s => s.Id)];

    private async Task CreateAsync(TenantClients t, SmpcClient modeller, string id, string modellerId, string[] pods)
    {
        await modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(id, modellerId, SessionKinds.SecureAggregation, pods, Scenario.SmallAggregation()));
        service.Clock.Advance(TimeSpan.FromMilliseconds(10)); // the service's clock is manual: give each session its own creation time
    }

    [Fact]
    public async Task TheAdminListsAll_AModellerItsOwn_APodThoseItIsIn_NewestFirst_AndAnotherTenantNone()
    {
        var t = await Scenario.TenantAsync(service, ["p1", "p2", "p3", "p4"]);
        var m2 = t.Admin.WithKey((await t.Admin.RegisterModellerAsync(t.Tenant, new RegisterModellerRequest("m2", "Modeller 2"))).ApiKey!.ApiKey);
        await CreateAsync(t, t.Modeller, "a1", "m1", ["p1", "p2", "p3"]);
        await CreateAsync(t, m2, "b1", "m2", ["p2", "p3", "p4"]);
        await CreateAsync(t, t.Modeller, "a2", "m1", ["p2", "p3", "p4"]);

        Assert.Equal(["a2", "b1", "a1"], await Ids(t.Admin, t.Tenant));
        Assert.Equal(["a2", "a1"], await Ids(t.Modeller, t.Tenant));
        Assert.Equal(["b1"], await Ids(m2, t.Tenant));
        Assert.Equal(["a1"], await Ids(t.Pods["p1"], t.Tenant));
        Assert.Equal(["a2", "b1"], await Ids(t.Pods["p4"], t.Tenant));
        // A filter only narrows what the caller may see.
        Assert.Equal(["a1"], await Ids(t.Pods["p1"], t.Tenant, new SessionListFilter(Modeller: "m1")));
        Assert.Empty(await Ids(t.Modeller, t.Tenant, new SessionListFilter(Modeller: "m2")));
        Assert.Empty(await Ids(t.Pods["p1"], t.Tenant, new SessionListFilter(Pod: "p4")));

        var summary = (await Page(t.Admin, t.Tenant)).Items[0];
        Assert.Equal((t.Tenant, "a2", SessionKinds.SecureAggregation, "m1", 1, (string?)null), (summary.Tenant, summary.Id, summary.Kind, summary.ModellerId, summary.Version, summary.Parent));
        Assert.Equal(["p2", "p3", "p4"], summary.PodIds);
        Assert.Null(summary.EndedAt);
        Assert.Equal(summary.CreatedAt, summary.UpdatedAt);

        var other = await Scenario.TenantAsync(service);
        foreach (var foreign in new[] { other.Admin, other.Modeller, other.Pods["p1"], service.Operator })
        {
            var refused = await Assert.ThrowsAsync<SmpcApiException>(() => Page(foreign, t.Tenant));
            Assert.Equal(HttpStatusCode.NotFound, refused.Status);
        }
    }

    [Fact]
    public async Task Pages_FollowTheCursor_WithNoDuplicatesOrGaps_WhileSessionsAreCreatedAndChangedBetweenPages()
    {
        var t = await Scenario.TenantAsync(service);
        var before = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            await CreateAsync(t, t.Modeller, $"s{i}", "m1", ["p1", "p2", "p3"]);
            before.Insert(0, $"s{i}");
        }

        var seen = new List<string>();
        var filter = new SessionListFilter(Limit: 3);
        var pages = 0;
        do
        {
            var page = await Page(t.Admin, t.Tenant, filter);
            Assert.True(page.Items.Count <= 3);
            seen.AddRange(page.Items.Select(s => s.Id));
            filter = filter with { Cursor = page.Next };
            // Between pages: new sessions (newer than any listed) and a change to one not yet listed.
            await CreateAsync(t, t.Modeller, $"new{pages}", "m1", ["p1", "p2", "p3"]);
            if (pages == 0) await t.Admin.CancelSessionAsync(t.Tenant, "s1", "changed between pages");
            pages++;
        }
        while (filter.Cursor is not null);

        Assert.Equal(before, seen);
        Assert.Equal(3, pages);
        // The client's enumerator walks the same pages.
        var all = new List<string>();
        await foreach (var s in t.Admin.ListAllSessionsAsync(t.Tenant, new SessionListFilter(Limit: 2))) all.Add(s.Id);
        Assert.Equal(11, all.Count);
        Assert.Equal(all.Distinct().Count(), all.Count);
    }

    [Fact]
    public async Task EachFilter_SelectsExactlyTheMatchingSessions()
    {
        var t = await Scenario.TenantAsync(service, ["p1", "p2", "p3", "p4"]);
        var m2 = t.Admin.WithKey((await t.Admin.RegisterModellerAsync(t.Tenant, new RegisterModellerRequest("m2", "Modeller 2"))).ApiKey!.ApiKey);
        var t0 = service.Clock.GetUtcNow();
        await CreateAsync(t, t.Modeller, "a1", "m1", ["p1", "p2", "p3"]);
        var t1 = service.Clock.GetUtcNow();
        await CreateAsync(t, m2, "b1", "m2", ["p2", "p3", "p4"]);
        var psi = new PsiRequest("intersection", [new PsiColumnRequest("email", "email")], [new PsiColumnRequest("email", "email")], "customers", 3,
            TimeoutSeconds: 600, Version: PsiProtocolNames.EcdhOprfV1);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("c1", "m1", SessionKinds.Psi, ["p4"], Psi: psi));
        service.Clock.Advance(TimeSpan.FromMilliseconds(10));
        var t2 = service.Clock.GetUtcNow();
        await t.Admin.CancelSessionAsync(t.Tenant, "a1", "filtered");
        service.Clock.Advance(TimeSpan.FromMilliseconds(10));
        var t3 = service.Clock.GetUtcNow();

        Assert.Equal(["c1"], await Ids(t.Admin, t.Tenant, new SessionListFilter(Kind: SessionKinds.Psi)));
        Assert.Equal(["b1", "a1"], await Ids(t.Admin, t.Tenant, new SessionListFilter(Kind: SessionKinds.SecureAggregation)));
        Assert.Equal(["a1"], await Ids(t.Admin, t.Tenant, new SessionListFilter(Phase: SessionPhases.Cancelled)));
        Assert.Equal(["a1"], await Ids(t.Admin, t.Tenant, new SessionListFilter(Phase: "ended")));
        Assert.Equal(["c1", "b1"], await Ids(t.Admin, t.Tenant, new SessionListFilter(Phase: "active")));
        Assert.Equal(["c1", "a1"], await Ids(t.Admin, t.Tenant, new SessionListFilter(Phase: $"{SessionPhases.AwaitingPod},{SessionPhases.Cancelled}")));
        Assert.Equal(["b1"], await Ids(t.Admin, t.Tenant, new SessionListFilter(Modeller: "m2")));
        Assert.Equal(["c1", "b1"], await Ids(t.Admin, t.Tenant, new SessionListFilter(Pod: "p4")));
        Assert.Equal(["c1", "b1"], await Ids(t.Admin, t.Tenant, new SessionListFilter(CreatedAfter: t1)));
        Assert.Equal(["a1"], await Ids(t.Admin, t.Tenant, new SessionListFilter(CreatedAfter: t0, CreatedBefore: t1)));
        Assert.Equal(["a1"], await Ids(t.Admin, t.Tenant, new SessionListFilter(EndedAfter: t2)));
        Assert.Empty(await Ids(t.Admin, t.Tenant, new SessionListFilter(EndedAfter: t3)));
        Assert.Empty(await Ids(t.Admin, t.Tenant, new SessionListFilter(EndedBefore: t2)));
        Assert.Equal(["a1"], await Ids(t.Admin, t.Tenant, new SessionListFilter(EndedBefore: t3)));

        var cancelled = (await Page(t.Admin, t.Tenant, new SessionListFilter(Phase: "ended"))).Items.Single();
        Assert.Equal((SessionPhases.Cancelled, (DateTimeOffset?)t2, t2), (cancelled.Phase, cancelled.EndedAt, cancelled.UpdatedAt));
        Assert.Equal(2, cancelled.Version);
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=501")]
    [InlineData("phase=sleeping")]
    [InlineData("phase=created,,nope")]
    [InlineData("kind=mpc")]
    [InlineData("createdAfter=yesterday")]
    [InlineData("modeller=..")]
    [InlineData("cursor=not-a-cursor")]
    [InlineData("cursor=czEuMTIzLi4u")] // "s1.123..." : our prefix, a bad id
    public async Task ABadQueryValue_IsAValidationProblem(string query)
    {
        var t = await Scenario.TenantAsync(service);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v1/tenants/{t.Tenant}/sessions?{query}");
        request.Headers.Authorization = new("Bearer", (await t.Admin.IssueAdminKeyAsync(t.Tenant)).ApiKey);
        using var response = await service.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        Assert.Equal(ProblemTypes.Validation, problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task TheIndexAndTheCounts_AreTheSameAfterEveryGrainIsDeactivated()
    {
        var t = await Scenario.TenantAsync(service);
        for (var i = 0; i < 3; i++) await CreateAsync(t, t.Modeller, $"r{i}", "m1", ["p1", "p2", "p3"]);
        await t.Modeller.CancelSessionAsync(t.Tenant, "r0");
        var listed = await Page(t.Admin, t.Tenant);
        var counts = await service.Grains.GetGrain<ISessionIndexGrain>(t.Tenant).GetCountsAsync();
        Assert.Equal(3, counts.Values.Sum());
        Assert.Equal(1, counts[SessionPhase.Cancelled]);

        await service.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        Assert.Equal(listed, await Page(t.Admin, t.Tenant), new PageComparer());
        Assert.Equal(counts.OrderBy(c => c.Key), (await service.Grains.GetGrain<ISessionIndexGrain>(t.Tenant).GetCountsAsync()).OrderBy(c => c.Key));
    }

    private sealed class PageComparer : IEqualityComparer<SessionPageResponse>
    {
        public bool Equals(SessionPageResponse? x, SessionPageResponse? y) =>
            x!.Next == y!.Next && x.Items.Count == y.Items.Count && x.Items.Zip(y.Items).All(p => p.First with { PodIds = [] } == p.Second with { PodIds = [] } && p.First.PodIds.SequenceEqual(p.Second.PodIds));

        public int GetHashCode(SessionPageResponse obj) => obj.Items.Count;
    }
}
