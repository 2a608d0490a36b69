using System.Net;
using System.Security.Cryptography;
using Smpc.Client;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests;

[Collection(EmbeddedServiceCollection.Name)]
public sealed class RestApiTests(EmbeddedService service)
{
    [Fact]
    public async Task HealthEndpoints_Answer()
    {
        var live = await service.Http.GetAsync("health/live");
        var ready = await service.Anonymous.GetReadinessAsync();

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("ready", ready.Status);
        Assert.Equal("Sqlite", ready.Storage);
    }

    [Fact]
    public async Task TenantPodsModellerAndSession_AreCreatedAndReadBack()
    {
        var t = await Scenario.TenantWithSessionAsync(service);

        var session = await t.Modeller.GetSessionAsync(t.Tenant, "s1");
        var tenantInfo = await t.Admin.GetTenantAsync(t.Tenant);
        var pod = await t.Pods["p1"].GetPodAsync(t.Tenant, "p2");

        Assert.Equal(("m1", SessionKinds.SecureAggregation, SessionPhases.KeyExchange, 1), (session.ModellerId, session.Kind, session.Phase, session.Version));
        Assert.Equal((2, "mean"), (session.Aggregation!.Threshold, session.Aggregation.Operation));
        Assert.Equal(["p1", "p2", "p3"], session.PodIds);
        Assert.Equal((3, 1), (tenantInfo.PodCount, tenantInfo.ModellerCount));
        Assert.Equal("Pod p2", pod.DisplayName);
        Assert.Null(pod.ApiKey);
        Assert.Equal(Smpc.Protocols.Crypto.KeyFingerprint.Compute(Convert.FromBase64String(pod.IdentityPublicKey!)), pod.IdentityFingerprint);
    }

    [Fact]
    public async Task CreatingTheSameSessionTwice_ReturnsTheSameSession()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var again = await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        Assert.Equal(1, again.Version);
    }

    [Fact]
    public async Task UnknownSessionKind_IsAValidationProblem()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var error = await Assert.ThrowsAsync<SmpcApiException>(() =>
            t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s9", "m1", "magic", ["p1", "p2", "p3"], Scenario.SmallAggregation())));
        Assert.Equal((HttpStatusCode.BadRequest, ProblemTypes.Validation), (error.Status, error.Type));
    }

    [Fact]
    public async Task Payload_StreamsInAndOutInChunks_WithItsDigest()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var bytes = RandomNumberGenerator.GetBytes((5 * 1024 * 1024) + 123); // 6 chunks of 1 MiB in this fixture

        var manifest = await t.Pods["p1"].UploadPayloadAsync(t.Tenant, "s1", "input", new MemoryStream(bytes));
        using var downloaded = new MemoryStream();
        await t.Modeller.DownloadPayloadAsync(t.Tenant, "s1", "input", downloaded);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v1/tenants/{t.Tenant}/sessions/s1/payloads/input");
        request.Headers.Authorization = new("Bearer", t.ModellerKey.ApiKey);
        using var raw = await service.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(bytes.Length, manifest.Length);
        Assert.Equal(6, manifest.ChunkCount);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), manifest.Sha256);
        Assert.Equal(bytes, downloaded.ToArray());
        Assert.Equal($"sha-256=:{Convert.ToBase64String(SHA256.HashData(bytes))}:", raw.Headers.GetValues("Repr-Digest").Single());
    }

    [Fact]
    public async Task PayloadReupload_WithOtherBytes_IsAConflict_AndTheFirstStays()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        await t.Pods["p1"].UploadPayloadAsync(t.Tenant, "s1", "input", new MemoryStream([1, 2, 3]));

        var again = await t.Pods["p1"].UploadPayloadAsync(t.Tenant, "s1", "input", new MemoryStream([1, 2, 3]));
        var error = await Assert.ThrowsAsync<SmpcApiException>(() => t.Pods["p1"].UploadPayloadAsync(t.Tenant, "s1", "input", new MemoryStream([3, 2, 1])));

        Assert.Equal(3, again.Length);
        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.Conflict), (error.Status, error.Type));
        using var downloaded = new MemoryStream();
        await t.Modeller.DownloadPayloadAsync(t.Tenant, "s1", "input", downloaded);
        Assert.Equal([1, 2, 3], downloaded.ToArray());
    }

    [Fact]
    public async Task EmptyPayload_IsRejected()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var error = await Assert.ThrowsAsync<SmpcApiException>(() => t.Pods["p1"].UploadPayloadAsync(t.Tenant, "s1", "input", new MemoryStream()));
        Assert.Equal((HttpStatusCode.BadRequest, ProblemTypes.Validation), (error.Status, error.Type));
    }

    [Fact]
    public async Task AggregationSpec_KeepsTensorShapesAndPerPhaseTimeouts_AndRefusesAShapeThatDoesNotMatchItsLength()
    {
        var t = await Scenario.TenantAsync(service);
        var spec = new AggregationRequest(
            [new AggregationFieldRequest("w", 12, -1, 1, Shape: [3, 4]), new AggregationFieldRequest("b", 4, -1, 1)], "mean", Convert.ToBase64String(new byte[32]), "layer",
            PhaseTimeoutSeconds: 300, PhaseTimeouts: new Dictionary<string, int> { ["key-exchange"] = 30, ["masked-input"] = 900 });

        var session = await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("shaped", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], spec));
        var bad = await Assert.ThrowsAsync<SmpcApiException>(() => t.Modeller.CreateSessionAsync(t.Tenant,
            new CreateSessionRequest("bad", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], spec with { Fields = [new AggregationFieldRequest("w", 12, -1, 1, Shape: [5, 2])] })));
        var badPhase = await Assert.ThrowsAsync<SmpcApiException>(() => t.Modeller.CreateSessionAsync(t.Tenant,
            new CreateSessionRequest("bad2", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], spec with { PhaseTimeouts = new Dictionary<string, int> { ["completed"] = 5 } })));

        Assert.Equal([3, 4], session.Aggregation!.Fields[0].Shape!);
        Assert.Null(session.Aggregation.Fields[1].Shape);
        Assert.Equal(30, session.Aggregation.PhaseTimeouts!["key-exchange"]);
        Assert.Equal(session.CreatedAt + TimeSpan.FromSeconds(30), session.Aggregation.PhaseDeadline);
        Assert.Equal((HttpStatusCode.BadRequest, ProblemTypes.Validation), (bad.Status, bad.Type));
        Assert.Contains("shape [5, 2]", bad.Detail, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.BadRequest, ProblemTypes.Validation), (badPhase.Status, badPhase.Type));
    }
}
