using System.Net;
using Smpc.Client;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests;

/// <summary>GET …/pods/{id}/keys, …/modellers/{id}/keys, …/admin-keys and …/usage.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class MemberKeysAndUsageTests(EmbeddedService service)
{
    [Fact]
    public async Task MemberKeys_ListEveryIssuedKey_OldestFirst_WithRevocations_ForTheTenantAdminOnly()
    {
        var t = await Scenario.TenantAsync(service);
        var first = (await t.Admin.ListPodKeysAsync(t.Tenant, "p1")).Single();
        service.Clock.Advance(TimeSpan.FromSeconds(1));
        var rotated = await t.Admin.IssuePodKeyAsync(t.Tenant, "p1");
        await t.Admin.RevokeKeyAsync(t.Tenant, first.KeyId);

        var keys = await t.Admin.ListPodKeysAsync(t.Tenant, "p1");
        Assert.Equal([first.KeyId, rotated.KeyId], keys.Select(k => k.KeyId));
        Assert.Equal(("Pod", t.Tenant, "p1"), (keys[0].Role, keys[0].Tenant, keys[0].Subject));
        Assert.NotNull(keys[0].RevokedAt);
        Assert.Null(keys[1].RevokedAt);

        var modellerKeys = await t.Admin.ListModellerKeysAsync(t.Tenant, "m1");
        Assert.Equal([t.ModellerKey.KeyId], modellerKeys.Select(k => k.KeyId));
        var admin = await t.Admin.IssueAdminKeyAsync(t.Tenant);
        var adminKeys = await t.Admin.ListAdminKeysAsync(t.Tenant);
        Assert.Equal(2, adminKeys.Count);
        Assert.Equal(admin.KeyId, adminKeys[^1].KeyId);
        Assert.All(adminKeys, k => Assert.Equal(("TenantAdmin", (string?)null), (k.Role, k.Subject)));

        var forbidden = await Assert.ThrowsAsync<SmpcApiException>(() => t.Modeller.ListPodKeysAsync(t.Tenant, "p1"));
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.Status);
        var other = await Scenario.TenantAsync(service);
        foreach (var call in new Func<Task>[]
                 {
                     () => other.Admin.ListPodKeysAsync(t.Tenant, "p1"), () => other.Admin.ListModellerKeysAsync(t.Tenant, "m1"),
                     () => other.Admin.ListAdminKeysAsync(t.Tenant), () => t.Admin.ListPodKeysAsync(t.Tenant, "nosuch"),
                 })
            Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<SmpcApiException>(call)).Status);
    }

    [Fact]
    public async Task Usage_CountsARealUpload_AndTheRunningSessions_BesideTheLimitsInForce()
    {
        var t = await Scenario.TenantAsync(service);
        await service.Operator.SetTenantLimitsAsync(t.Tenant, new TenantLimitsRequest(50, 60, MaxConcurrentSessions: 7, PayloadBytesPerDay: 1_000_000));
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("u1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("u2", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        await t.Modeller.CancelSessionAsync(t.Tenant, "u2");
        await t.Modeller.UploadPayloadAsync(t.Tenant, "u1", "notes", new MemoryStream(new byte[1234]));

        service.Clock.Advance(TimeSpan.FromSeconds(10)); // past the gateway's limits cache (its clock is the service's manual clock)
        var usage = await t.Admin.GetTenantUsageAsync(t.Tenant);
        Assert.Equal(t.Tenant, usage.Tenant);
        Assert.Equal(service.Clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), usage.Day);
        Assert.Equal((1L, 1234L, 1_000_000L, 0L, 50d, 60), (usage.SessionsRunning, usage.PayloadBytes, usage.PayloadBytesPerDay, usage.PsiElements, usage.RequestsPerSecond, usage.Burst));
        Assert.True(usage.PsiElementsPerDay > 0);
        Assert.Equal(usage, await service.Operator.GetTenantUsageAsync(t.Tenant));

        Assert.Equal(HttpStatusCode.Forbidden, (await Assert.ThrowsAsync<SmpcApiException>(() => t.Modeller.GetTenantUsageAsync(t.Tenant))).Status);
        var other = await Scenario.TenantAsync(service);
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<SmpcApiException>(() => other.Admin.GetTenantUsageAsync(t.Tenant))).Status);
    }
}
