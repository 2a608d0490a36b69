using System.Net;
using System.Security.Cryptography;
using Smpc.Client;
using Smpc.Client.Contracts;

namespace Smpc.Gateway.Tests;

[Collection(EmbeddedServiceCollection.Name)]
public sealed class RestApiTests(EmbeddedService service)
{
    [Fact]
    public async Task HealthEndpoints_Answer()
    {
        var live = await service.Http.GetAsync("health/live");
        var ready = await service.Client.GetReadinessAsync();

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("ready", ready.Status);
        Assert.Equal("Sqlite", ready.Storage);
    }

    [Fact]
    public async Task TenantPodsModellerAndSession_AreCreatedAndReadBack()
    {
        var tenant = await Scenario.TenantWithSessionAsync(service.Client);

        var session = await service.Client.GetSessionAsync(tenant, "s1");
        var tenantInfo = await service.Client.GetTenantAsync(tenant);
        var pod = await service.Client.GetPodAsync(tenant, "p2");

        Assert.Equal(("m1", SessionKinds.SecureAggregation, "created", 1), (session.ModellerId, session.Kind, session.Phase, session.Version));
        Assert.Equal(["p1", "p2", "p3"], session.PodIds);
        Assert.Equal((3, 1), (tenantInfo.PodCount, tenantInfo.ModellerCount));
        Assert.Equal("Pod p2", pod.DisplayName);
    }

    [Fact]
    public async Task CreatingTheSameSessionTwice_ReturnsTheSameSession()
    {
        var tenant = await Scenario.TenantWithSessionAsync(service.Client);
        var again = await service.Client.CreateSessionAsync(tenant, new CreateSessionRequest("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"]));
        Assert.Equal(1, again.Version);
    }

    [Fact]
    public async Task UnknownSessionKind_IsAValidationProblem()
    {
        var tenant = await Scenario.TenantWithSessionAsync(service.Client);
        var error = await Assert.ThrowsAsync<SmpcApiException>(() =>
            service.Client.CreateSessionAsync(tenant, new CreateSessionRequest("s9", "m1", "magic", ["p1", "p2", "p3"])));
        Assert.Equal((HttpStatusCode.BadRequest, ProblemTypes.Validation), (error.Status, error.Type));
    }

    [Fact]
    public async Task Payload_StreamsInAndOutInChunks_WithItsDigest()
    {
        var tenant = await Scenario.TenantWithSessionAsync(service.Client);
        var bytes = RandomNumberGenerator.GetBytes((5 * 1024 * 1024) + 123); // 6 chunks of 1 MiB in this fixture

        var manifest = await service.Client.UploadPayloadAsync(tenant, "s1", "input", new MemoryStream(bytes));
        using var downloaded = new MemoryStream();
        await service.Client.DownloadPayloadAsync(tenant, "s1", "input", downloaded);
        using var raw = await service.Http.GetAsync($"v1/tenants/{tenant}/sessions/s1/payloads/input", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(bytes.Length, manifest.Length);
        Assert.Equal(6, manifest.ChunkCount);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), manifest.Sha256);
        Assert.Equal(bytes, downloaded.ToArray());
        Assert.Equal($"sha-256=:{Convert.ToBase64String(SHA256.HashData(bytes))}:", raw.Headers.GetValues("Repr-Digest").Single());
    }

    [Fact]
    public async Task PayloadReupload_WithOtherBytes_IsAConflict_AndTheFirstStays()
    {
        var tenant = await Scenario.TenantWithSessionAsync(service.Client);
        await service.Client.UploadPayloadAsync(tenant, "s1", "input", new MemoryStream([1, 2, 3]));

        var again = await service.Client.UploadPayloadAsync(tenant, "s1", "input", new MemoryStream([1, 2, 3]));
        var error = await Assert.ThrowsAsync<SmpcApiException>(() => service.Client.UploadPayloadAsync(tenant, "s1", "input", new MemoryStream([3, 2, 1])));

        Assert.Equal(3, again.Length);
        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.Conflict), (error.Status, error.Type));
        using var downloaded = new MemoryStream();
        await service.Client.DownloadPayloadAsync(tenant, "s1", "input", downloaded);
        Assert.Equal([1, 2, 3], downloaded.ToArray());
    }

    [Fact]
    public async Task EmptyPayload_IsRejected()
    {
        var tenant = await Scenario.TenantWithSessionAsync(service.Client);
        var error = await Assert.ThrowsAsync<SmpcApiException>(() => service.Client.UploadPayloadAsync(tenant, "s1", "input", new MemoryStream()));
        Assert.Equal((HttpStatusCode.BadRequest, ProblemTypes.Validation), (error.Status, error.Type));
    }
}
