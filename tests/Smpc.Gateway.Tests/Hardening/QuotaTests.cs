using System.Net;
using System.Text;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Gateway.Tests.Hardening;

/// <summary>Tenant quotas that hold across gateways (kept in grains): sessions at once, payload bytes and PSI elements per day.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class QuotaTests(EmbeddedService service)
{
    private static async Task<SmpcApiException> QuotaExceededAsync(Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<SmpcApiException>(call);
        Assert.Equal((HttpStatusCode.TooManyRequests, ProblemTypes.QuotaExceeded), (error.Status, error.Type));
        return error;
    }

    private async Task<TenantClients> TenantWithLimitsAsync(TenantLimitsRequest limits, string[]? pods = null)
    {
        var t = await Scenario.TenantAsync(service, pods);
        await service.Operator.SetTenantLimitsAsync(t.Tenant, limits);
        service.Clock.Advance(TimeSpan.FromSeconds(10)); // gateways re-read a tenant's limits within seconds
        return t;
    }

    [Fact]
    public async Task ConcurrentSessions_BeyondTheQuota_Get429_UntilOneEnds()
    {
        var t = await TenantWithLimitsAsync(new TenantLimitsRequest(100, 200, MaxConcurrentSessions: 1));
        var spec = Scenario.SmallAggregation() with { PhaseTimeoutSeconds = 60 };
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], spec));
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], spec)); // a retry holds no new slot

        await QuotaExceededAsync(() => t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s2", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], spec)));
        await Assert.ThrowsAsync<SmpcApiException>(() => t.Modeller.GetSessionAsync(t.Tenant, "s2")); // nothing was created

        // s1's key exchange times out with no pod: it fails, and its slot is free again.
        service.Clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(SessionPhases.Failed, (await t.Modeller.GetSessionAsync(t.Tenant, "s1")).Phase);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s2", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], spec));
    }

    [Fact]
    public async Task PayloadBytesPerDay_AreCountedAcrossUploads_AndRefusedBeyondTheQuota_WithRetryAfterMidnight()
    {
        var t = await TenantWithLimitsAsync(new TenantLimitsRequest(100, 200, PayloadBytesPerDay: 1000));
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        await t.Modeller.UploadPayloadAsync(t.Tenant, "s", "notes-1", new MemoryStream(new byte[600]));

        var error = await QuotaExceededAsync(() => t.Modeller.UploadPayloadAsync(t.Tenant, "s", "notes-2", new MemoryStream(new byte[600])));
        Assert.Contains("1,000 payload bytes per day", error.Detail);
        await Assert.ThrowsAsync<SmpcApiException>(() => t.Modeller.GetPayloadManifestAsync(t.Tenant, "s", "notes-2")); // nothing stored
        await t.Modeller.UploadPayloadAsync(t.Tenant, "s", "notes-3", new MemoryStream(new byte[400])); // what is left still fits

        // Another tenant has its own quota.
        var other = await Scenario.TenantAsync(service);
        await other.Modeller.CreateSessionAsync(other.Tenant, new CreateSessionRequest("s", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        await other.Modeller.UploadPayloadAsync(other.Tenant, "s", "notes", new MemoryStream(new byte[2000]));
    }

    [Fact]
    public async Task PsiElementsPerDay_BeyondTheQuota_Get429_AndTheSetIsNotStored()
    {
        var t = await TenantWithLimitsAsync(new TenantLimitsRequest(100, 200, PsiElementsPerDay: 10), ["p1"]);
        var spec = new PsiRequest("intersection", [new PsiColumnRequest("email", "email")], [new PsiColumnRequest("email", "email")], "customers", 3, TimeoutSeconds: 600, Version: PsiProtocolNames.EcdhOprfV1);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("psi", "m1", SessionKinds.Psi, ["p1"], Psi: spec));
        var pod = t.Pods["p1"];
        await pod.AcceptPsiAsync(t.Tenant, "psi", new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1));
        var points = new byte[11 * Ristretto255.Size];
        for (var i = 0; i < 11; i++) RistrettoOprf.HashToGroup(Encoding.UTF8.GetBytes($"e{i}"), points.AsSpan(i * Ristretto255.Size, Ristretto255.Size));

        var before = await t.Modeller.GetSessionAsync(t.Tenant, "psi");
        var error = await QuotaExceededAsync(() => pod.UploadPsiSetAsync(t.Tenant, "psi", PsiPayloads.PodSet, s => s.WriteAsync(points).AsTask(), points.Length));
        Assert.Contains("PSI elements per day", error.Detail);
        var after = await t.Modeller.GetSessionAsync(t.Tenant, "psi");
        Assert.Equal((before.Version, before.Psi!.PodSetSize), (after.Version, after.Psi!.PodSetSize));
    }
}
