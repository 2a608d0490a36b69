using System.Net;
using Smpc.Client;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests;

/// <summary>GET /v1/tenants/{tenantId}/sessions: each caller lists exactly the sessions it may read, newest first.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class SessionListTests(EmbeddedService service)
{
    [Fact]
    public async Task TheAdminListsAll_AModellerItsOwn_APodThoseItIsIn_NewestFirst()
    {
        var t = await Scenario.TenantAsync(service, ["p1", "p2", "p3", "p4"]);
        var m2 = t.Admin.WithKey((await t.Admin.RegisterModellerAsync(t.Tenant, new RegisterModellerRequest("m2", "Modeller 2"))).ApiKey!.ApiKey);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("a1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        service.Clock.Advance(TimeSpan.FromMilliseconds(10)); // the service's clock is manual: give each session its own creation time
        await m2.CreateSessionAsync(t.Tenant, new CreateSessionRequest("b1", "m2", SessionKinds.SecureAggregation, ["p2", "p3", "p4"], Scenario.SmallAggregation()));
        service.Clock.Advance(TimeSpan.FromMilliseconds(10));
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("a2", "m1", SessionKinds.SecureAggregation, ["p2", "p3", "p4"], Scenario.SmallAggregation()));

        static async Task<string[]> Ids(SmpcClient c, string tenant, int limit = 100) => [.. (await c.ListSessionsAsync(tenant, limit)).Select(s => s.Id)];
        Assert.Equal(["a2", "b1", "a1"], await Ids(t.Admin, t.Tenant));
        Assert.Equal(["a2", "a1"], await Ids(t.Modeller, t.Tenant));
        Assert.Equal(["b1"], await Ids(m2, t.Tenant));
        Assert.Equal(["a1"], await Ids(t.Pods["p1"], t.Tenant));
        Assert.Equal(["a2", "b1"], await Ids(t.Pods["p4"], t.Tenant));
        Assert.Equal(["a2", "b1"], await Ids(t.Admin, t.Tenant, limit: 2));
    }

    [Fact]
    public async Task ALimitOutOfRange_IsAValidationProblem_AndAnotherTenant_IsNotFound()
    {
        var t = await Scenario.TenantAsync(service);
        var other = await Scenario.TenantAsync(service);
        var tooMany = await Assert.ThrowsAsync<SmpcApiException>(() => t.Admin.ListSessionsAsync(t.Tenant, 501));
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.Status);
        var foreign = await Assert.ThrowsAsync<SmpcApiException>(() => other.Modeller.ListSessionsAsync(t.Tenant));
        Assert.Equal(HttpStatusCode.NotFound, foreign.Status);
    }
}
