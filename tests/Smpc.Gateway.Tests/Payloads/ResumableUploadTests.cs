using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.Gateway.Tests.Attacks;

namespace Smpc.Gateway.Tests.Payloads;

/// <summary>
/// Resumable payload uploads through real HTTP (1 MiB chunks in this fixture): one request per chunk, a status to resume
/// from, a completion that checks the stored bytes against the client's SHA-256; and a client that resumes after a failure
/// without sending again what the service stored.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class ResumableUploadTests(EmbeddedService service)
{
    private const int Chunk = 1 << 20;

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static string UploadsPath(TenantClients t, string name, string session = "s1") => $"v1/tenants/{t.Tenant}/sessions/{session}/payloads/{name}/uploads";

    /// <summary>The modeller of <paramref name="t"/> over a handler that sees (and may break) every request first.</summary>
    private SmpcClient ModellerOver(TenantClients t, ChunkWire wire) =>
        new(new HttpClient(wire) { BaseAddress = service.Http.BaseAddress }, t.ModellerKey.ApiKey);

    private async Task<byte[]> DownloadAsync(TenantClients t, string name)
    {
        using var downloaded = new MemoryStream();
        await t.Modeller.DownloadPayloadAsync(t.Tenant, "s1", name, downloaded);
        return downloaded.ToArray();
    }

    [Fact]
    public async Task AResumableUpload_RoundTrips_AndTheManifestHasTheClientsSha256()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var bytes = RandomNumberGenerator.GetBytes((3 * Chunk) + 17);
        var progress = new List<ResumableUploadProgress>();

        var result = await t.Pods["p1"].UploadPayloadResumableAsync(t.Tenant, "s1", "input", new MemoryStream(bytes), p =>
        {
            progress.Add(p);
            return Task.CompletedTask;
        });

        var manifest = await t.Modeller.GetPayloadManifestAsync(t.Tenant, "s1", "input");
        Assert.Equal((4, 4, 0), (result.Chunks, result.ChunksSent, result.Resumes));
        Assert.Equal(("input", (long)bytes.Length, 4, Sha(bytes)), (manifest.Name, manifest.Length, manifest.ChunkCount, manifest.Sha256));
        Assert.Equal(manifest, result.Payload);
        Assert.Equal([1, 2, 3, 4], progress.Select(p => p.ChunksStored));
        Assert.Equal([Chunk, 2L * Chunk, 3L * Chunk, bytes.Length], progress.Select(p => p.BytesStored));
        Assert.Equal(bytes, await DownloadAsync(t, "input"));
    }

    [Fact]
    public async Task AnUploadStoppedMidway_IsResumedFromItsStatus_SendingOnlyTheMissingChunks()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var bytes = RandomNumberGenerator.GetBytes((4 * Chunk) + 5);
        using var wire = new ChunkWire();
        var client = ModellerOver(t, wire);
        using var stop = new CancellationTokenSource();
        var uploadId = Guid.Empty;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.UploadPayloadResumableAsync(t.Tenant, "s1", "input", new MemoryStream(bytes), p =>
        {
            uploadId = p.UploadId;
            if (p.ChunksStored == 2) stop.Cancel(); // the process is stopped after two chunks
            return Task.CompletedTask;
        }, stop.Token));
        var status = await client.GetResumableUploadAsync(t.Tenant, "s1", "input", uploadId);
        wire.Clear();
        var result = await client.ResumePayloadUploadAsync(t.Tenant, "s1", "input", uploadId, new MemoryStream(bytes));

        Assert.Equal(new ResumableUploadResponse(uploadId, Chunk, 2, 2L * Chunk, false), status);
        Assert.Equal([2, 3, 4], wire.Forwarded);
        Assert.Equal((5, 3, 0), (result.Chunks, result.ChunksSent, result.Resumes));
        Assert.Equal(Sha(bytes), result.Payload.Sha256);
        Assert.Equal(bytes, await DownloadAsync(t, "input"));
    }

    [Fact]
    public async Task AGatewayFailingAroundAChunk_IsResumedFrom_WithoutSendingAStoredChunkAgain()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var bytes = RandomNumberGenerator.GetBytes((4 * Chunk) + 99);
        // Chunk 1 is lost on the way (never stored); chunk 3 is stored but its answer is lost (the gateway died after storing it).
        using var wire = new ChunkWire { DropBefore = { 1 }, DropAfter = { 3 } };
        var client = ModellerOver(t, wire);

        var result = await client.UploadPayloadResumableAsync(t.Tenant, "s1", "input", new MemoryStream(bytes));

        Assert.Equal([0, 1, 2, 3, 4], wire.Forwarded); // every chunk reached the service exactly once
        Assert.Equal((5, 6, 2), (result.Chunks, result.ChunksSent, result.Resumes));
        Assert.True(result.ChunksSent <= result.Chunks + result.Resumes);
        Assert.Equal(Sha(bytes), result.Payload.Sha256);
        Assert.Equal(bytes, await DownloadAsync(t, "input"));
    }

    [Fact]
    public async Task AChunkOutOfOrder_IsAConflict_NamingTheExpectedIndex()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var p1 = t.Pods["p1"];
        var upload = await p1.BeginResumableUploadAsync(t.Tenant, "s1", "input");

        var skipped = await Expect.ProblemAsync(HttpStatusCode.Conflict, ProblemTypes.Conflict,
            () => p1.PutUploadChunkAsync(t.Tenant, "s1", "input", upload.UploadId, 1, new byte[Chunk]));
        var first = await p1.PutUploadChunkAsync(t.Tenant, "s1", "input", upload.UploadId, 0, new byte[Chunk]);
        var again = await p1.PutUploadChunkAsync(t.Tenant, "s1", "input", upload.UploadId, 0, new byte[Chunk]); // a retry of the last chunk
        var behind = await Expect.ProblemAsync(HttpStatusCode.Conflict, ProblemTypes.Conflict,
            () => p1.PutUploadChunkAsync(t.Tenant, "s1", "input", upload.UploadId, 3, new byte[10]));

        Assert.Contains("Expected chunk 0", skipped.Detail, StringComparison.Ordinal);
        Assert.Contains("Expected chunk 1", behind.Detail, StringComparison.Ordinal);
        Assert.Equal(new ResumableUploadResponse(upload.UploadId, Chunk, 1, Chunk, false), first);
        Assert.Equal(first, again);
    }

    [Fact]
    public async Task CompletingWithAnotherSha256OrLength_IsAValidationProblem_AndStoresNothing()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var p1 = t.Pods["p1"];
        var bytes = RandomNumberGenerator.GetBytes(1000);
        var upload = await p1.BeginResumableUploadAsync(t.Tenant, "s1", "input");
        await p1.PutUploadChunkAsync(t.Tenant, "s1", "input", upload.UploadId, 0, bytes);
        var other = (byte[])bytes.Clone();
        other[500] ^= 1;

        var wrongSha = await Expect.ProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => p1.CompleteResumableUploadAsync(t.Tenant, "s1", "input", upload.UploadId, 1000, Sha(other)));
        await Expect.ProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => p1.CompleteResumableUploadAsync(t.Tenant, "s1", "input", upload.UploadId, 999, Sha(bytes)));
        await Expect.ProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => p1.CompleteResumableUploadAsync(t.Tenant, "s1", "input", upload.UploadId, 1000, "not a sha"));

        Assert.Contains("not the declared", wrongSha.Detail, StringComparison.Ordinal);
        await Expect.ProblemAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => t.Modeller.GetPayloadManifestAsync(t.Tenant, "s1", "input"));
        Assert.Equal(new ResumableUploadResponse(upload.UploadId, Chunk, 1, 1000, false), await p1.GetResumableUploadAsync(t.Tenant, "s1", "input", upload.UploadId));
    }

    [Fact]
    public async Task CompletingTwice_AnswersTheSamePayload_AndCountsItsBytesOnce()
    {
        var t = await Scenario.TenantAsync(service);
        await service.Operator.SetTenantLimitsAsync(t.Tenant, new TenantLimitsRequest(100, 200, PayloadBytesPerDay: 1000));
        service.Clock.Advance(TimeSpan.FromSeconds(10)); // gateways re-read a tenant's limits within seconds
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        var bytes = RandomNumberGenerator.GetBytes(600);
        var upload = await t.Modeller.BeginResumableUploadAsync(t.Tenant, "s1", "input");
        await t.Modeller.PutUploadChunkAsync(t.Tenant, "s1", "input", upload.UploadId, 0, bytes);

        var first = await t.Modeller.CompleteResumableUploadAsync(t.Tenant, "s1", "input", upload.UploadId, 600, Sha(bytes));
        var retried = await t.Modeller.CompleteResumableUploadAsync(t.Tenant, "s1", "input", upload.UploadId, 600, Sha(bytes).ToUpperInvariant());

        Assert.Equal(first, retried);
        Assert.Equal(new ResumableUploadResponse(upload.UploadId, Chunk, 1, 600, true), await t.Modeller.GetResumableUploadAsync(t.Tenant, "s1", "input", upload.UploadId));
        await Expect.ProblemAsync(HttpStatusCode.Conflict, ProblemTypes.WrongPhase,
            () => t.Modeller.PutUploadChunkAsync(t.Tenant, "s1", "input", upload.UploadId, 1, new byte[10]));
        // 600 bytes were counted once: 400 more fit today's 1000, a chunk of 401 does not.
        var next = await t.Modeller.BeginResumableUploadAsync(t.Tenant, "s1", "more");
        var refused = await Expect.ProblemAsync(HttpStatusCode.TooManyRequests, ProblemTypes.QuotaExceeded,
            () => t.Modeller.PutUploadChunkAsync(t.Tenant, "s1", "more", next.UploadId, 0, new byte[401]));
        await t.Modeller.PutUploadChunkAsync(t.Tenant, "s1", "more", next.UploadId, 0, new byte[400]);
        Assert.Contains("1,000 payload bytes per day", refused.Detail, StringComparison.Ordinal);
        // The client does not wait a used-up daily quota out as if it were a transient failure.
        await Expect.ProblemAsync(HttpStatusCode.TooManyRequests, ProblemTypes.QuotaExceeded,
            () => t.Modeller.UploadPayloadResumableAsync(t.Tenant, "s1", "even-more", new MemoryStream(new byte[401])));
    }

    [Fact]
    public async Task AChunkLargerThanChunkBytes_IsPayloadTooLarge_AndAShortChunkBeforeTheLast_IsInvalid()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var upload = await t.Modeller.BeginResumableUploadAsync(t.Tenant, "s1", "input");
        var path = $"{UploadsPath(t, "input")}/{upload.UploadId}/chunks/0";

        var oversized = await AttackHttp.SendAsync(service.Http, HttpMethod.Put, path, t.ModellerKey.ApiKey, AttackHttp.Bytes(new byte[Chunk + 1]));
        var declaredOnly = await AttackHttp.RawAsync(service.Http, "PUT", path, t.ModellerKey.ApiKey, "application/octet-stream", Chunk + 1L, [], endBody: false, TimeSpan.FromSeconds(10));
        var empty = await AttackHttp.SendAsync(service.Http, HttpMethod.Put, path, t.ModellerKey.ApiKey, AttackHttp.Bytes([]));
        await t.Modeller.PutUploadChunkAsync(t.Tenant, "s1", "input", upload.UploadId, 0, new byte[10]);
        var afterShort = await Expect.ProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => t.Modeller.PutUploadChunkAsync(t.Tenant, "s1", "input", upload.UploadId, 1, new byte[10]));

        Expect.Problem(HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge, oversized, "a chunk of chunkBytes + 1");
        Assert.NotNull(declaredOnly);
        Expect.Problem(HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge, declaredOnly, "chunkBytes + 1 declared, body withheld");
        Expect.Problem(HttpStatusCode.BadRequest, ProblemTypes.Validation, empty, "an empty chunk");
        Assert.Contains("Only the last chunk", afterShort.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AChunkOfAnotherContentType_IsUnsupportedMediaType()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var upload = await t.Modeller.BeginResumableUploadAsync(t.Tenant, "s1", "input");

        var answer = await AttackHttp.SendAsync(service.Http, HttpMethod.Put, $"{UploadsPath(t, "input")}/{upload.UploadId}/chunks/0", t.ModellerKey.ApiKey,
            AttackHttp.Text("hello", "text/plain"));

        Expect.Problem(HttpStatusCode.UnsupportedMediaType, ProblemTypes.UnsupportedMediaType, answer, "a text/plain chunk");
        Assert.Equal(0, (await t.Modeller.GetResumableUploadAsync(t.Tenant, "s1", "input", upload.UploadId)).ChunksStored);
    }

    [Theory]
    [InlineData("masked-input")]
    [InlineData("psi-query")]
    [InlineData("release-counts")]
    public async Task AReservedName_IsForbidden(string name)
    {
        var t = await Scenario.TenantWithSessionAsync(service);

        await Expect.ProblemAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Modeller.BeginResumableUploadAsync(t.Tenant, "s1", name));
        await Expect.ProblemAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Modeller.PutUploadChunkAsync(t.Tenant, "s1", name, Guid.NewGuid(), 0, new byte[8]));
        await Expect.ProblemAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Modeller.CompleteResumableUploadAsync(t.Tenant, "s1", name, Guid.NewGuid(), 8, Sha(new byte[8])));
    }

    [Fact]
    public async Task AnotherTenant_GetsNotFound_AndTheUploadIsUntouched()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var other = await Scenario.TenantWithSessionAsync(service);
        var bytes = RandomNumberGenerator.GetBytes(100);
        var upload = await t.Modeller.BeginResumableUploadAsync(t.Tenant, "s1", "input");
        await t.Modeller.PutUploadChunkAsync(t.Tenant, "s1", "input", upload.UploadId, 0, bytes);

        await Expect.ProblemAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => other.Modeller.BeginResumableUploadAsync(t.Tenant, "s1", "input"));
        await Expect.ProblemAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => other.Modeller.GetResumableUploadAsync(t.Tenant, "s1", "input", upload.UploadId));
        await Expect.ProblemAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => other.Modeller.PutUploadChunkAsync(t.Tenant, "s1", "input", upload.UploadId, 1, bytes));
        await Expect.ProblemAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => other.Modeller.CompleteResumableUploadAsync(t.Tenant, "s1", "input", upload.UploadId, 100, Sha(bytes)));
        // Its own session of the same name does not know the upload either.
        await Expect.ProblemAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => other.Modeller.GetResumableUploadAsync(other.Tenant, "s1", "input", upload.UploadId));

        Assert.Equal(new ResumableUploadResponse(upload.UploadId, Chunk, 1, 100, false), await t.Modeller.GetResumableUploadAsync(t.Tenant, "s1", "input", upload.UploadId));
    }

    [Theory]
    [InlineData("a random id")]
    [InlineData("a superseded upload")]
    [InlineData("not-a-guid")]
    public async Task AnUnknownOrGarbledUploadId_IsNotFound(string which)
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var superseded = await t.Modeller.BeginResumableUploadAsync(t.Tenant, "s1", "input");
        await t.Modeller.BeginResumableUploadAsync(t.Tenant, "s1", "input");
        var id = which switch
        {
            "a random id" => Guid.NewGuid().ToString(),
            "a superseded upload" => superseded.UploadId.ToString(),
            _ => which,
        };
        var key = t.ModellerKey.ApiKey;

        var status = await AttackHttp.SendAsync(service.Http, HttpMethod.Get, $"{UploadsPath(t, "input")}/{id}", key);
        var chunk = await AttackHttp.SendAsync(service.Http, HttpMethod.Put, $"{UploadsPath(t, "input")}/{id}/chunks/0", key, AttackHttp.Bytes([1, 2, 3]));
        var complete = await AttackHttp.SendAsync(service.Http, HttpMethod.Post, $"{UploadsPath(t, "input")}/{id}/complete", key,
            JsonContent.Create(new CompleteUploadRequest(3, Sha([1, 2, 3]))));

        Expect.Problem(HttpStatusCode.NotFound, ProblemTypes.NotFound, status, $"status of {which}");
        Expect.Problem(HttpStatusCode.NotFound, ProblemTypes.NotFound, chunk, $"a chunk of {which}");
        Expect.Problem(HttpStatusCode.NotFound, ProblemTypes.NotFound, complete, $"completing {which}");
    }

    [Fact]
    public async Task TheRoutes_AnswerWithLocations_AndEveryStepHasASpan()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var key = t.ModellerKey.ApiKey;
        var bytes = RandomNumberGenerator.GetBytes(10);

        using var begin = new HttpRequestMessage(HttpMethod.Post, UploadsPath(t, "input"));
        begin.Headers.Authorization = new("Bearer", key);
        using var begun = await service.Http.SendAsync(begin);
        var upload = (await begun.Content.ReadFromJsonAsync<ResumableUploadResponse>())!;
        await t.Modeller.PutUploadChunkAsync(t.Tenant, "s1", "input", upload.UploadId, 0, bytes);
        await t.Modeller.GetResumableUploadAsync(t.Tenant, "s1", "input", upload.UploadId);
        using var complete = new HttpRequestMessage(HttpMethod.Post, $"{UploadsPath(t, "input")}/{upload.UploadId}/complete")
        {
            Content = JsonContent.Create(new CompleteUploadRequest(10, Sha(bytes))),
        };
        complete.Headers.Authorization = new("Bearer", key);
        using var completed = await service.Http.SendAsync(complete);

        Assert.Equal(HttpStatusCode.Created, begun.StatusCode);
        Assert.Equal($"/{UploadsPath(t, "input")}/{upload.UploadId}", begun.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.Created, completed.StatusCode);
        Assert.Equal($"/v1/tenants/{t.Tenant}/sessions/s1/payloads/input", completed.Headers.Location!.OriginalString);
        var spans = service.SnapshotSpans().Where(s => s.GetTagItem("smpc.tenant") as string == t.Tenant).Select(s => s.OperationName).ToHashSet();
        Assert.Superset(new HashSet<string> { "payload.upload.begin", "payload.upload.chunk", "payload.upload.status", "payload.upload.complete" }, spans);
    }

    /// <summary>
    /// Sees every chunk request before the gateway: records the indices that reached it, and plays a gateway that fails
    /// before a chunk (<see cref="DropBefore"/>: never stored) or after it (<see cref="DropAfter"/>: stored, answer lost), once each.
    /// </summary>
    private sealed class ChunkWire() : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly List<int> _forwarded = [];

        public HashSet<int> DropBefore { get; } = [];

        public HashSet<int> DropAfter { get; } = [];

        public List<int> Forwarded
        {
            get { lock (_forwarded) return [.. _forwarded]; }
        }

        public void Clear()
        {
            lock (_forwarded) _forwarded.Clear();
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var segments = request.RequestUri!.AbsolutePath.Split('/');
            var isChunk = request.Method == HttpMethod.Put && segments.Length > 2 && segments[^2] == "chunks";
            var index = isChunk ? int.Parse(segments[^1], System.Globalization.CultureInfo.InvariantCulture) : -1;
            if (isChunk && DropBefore.Remove(index)) throw new HttpRequestException(HttpRequestError.ConnectionError, "The gateway is gone (before the chunk).");
            var response = await base.SendAsync(request, cancellationToken);
            if (!isChunk) return response;
            lock (_forwarded) _forwarded.Add(index);
            if (!DropAfter.Remove(index)) return response;
            response.Dispose();
            throw new HttpRequestException(HttpRequestError.ResponseEnded, "The gateway died before answering.");
        }
    }
}
