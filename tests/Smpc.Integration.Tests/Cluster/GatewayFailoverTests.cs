using System.Security.Cryptography;
using Smpc.Client;
using Smpc.Contracts;
using Xunit.Abstractions;

namespace Smpc.Integration.Tests.Cluster;

/// <summary>
/// A gateway is killed (SIGKILL) while a chunk of a resumable upload is on the wire to it: the client fails over to the
/// other gateway, asks how far the upload got, and sends only what the service does not hold; the stored payload is exact.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class GatewayFailoverTests(ClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task KillingTheGatewayMidUpload_TheClientFailsOver_AndResumesWithoutResendingStoredChunks()
    {
        var t = await fixture.TenantAsync("upload", 3);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"],
            new AggregationRequest([new AggregationFieldRequest("x", 3, -10, 10)], "mean", Convert.ToBase64String(new byte[32]), "x")));
        var data = RandomNumberGenerator.GetBytes((9 * 4 * 1024 * 1024) + 12345); // 10 chunks of 4 MiB, the last one short
        // The library's failover client (SmpcClient.ForGateways), with a handler in front that kills gateway1 mid-chunk and counts every chunk sent.
        var killer = new KillDuringChunk(4, () => fixture.Cluster.KillAsync("gateway1"))
        {
            InnerHandler = new GatewayFailoverHandler(fixture.Cluster.GatewayUrls, 0, new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(3) }),
        };
        var modeller = new SmpcClient(new HttpClient(killer) { BaseAddress = fixture.Cluster.GatewayUrls[0], Timeout = TimeSpan.FromMinutes(2) }, t.Modeller.ApiKey);
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var result = await modeller.UploadPayloadResumableAsync(t.Tenant, "s1", "model", new MemoryStream(data));
            output.WriteLine($"{result.Chunks} chunks, {result.ChunksSent} sent, {result.Resumes} resume(s), {clock.Elapsed.TotalSeconds:F1} s; chunk PUTs on the wire: {string.Join(" ", killer.Sent.OrderBy(p => p.Key).Select(p => $"{p.Key}×{p.Value}"))}");

            Assert.True(killer.Killed, "gateway1 was killed during the upload");
            Assert.Null(fixture.Cluster.PidOf("gateway1"));
            Assert.Equal(10, result.Chunks);
            Assert.True(result.Resumes >= 1, "the interrupted chunk made the client resume");
            Assert.True(result.ChunksSent <= result.Chunks + result.Resumes, "only the chunk in flight may be sent twice");
            // Every chunk acknowledged before the kill went on the wire once; only the one in flight may have gone twice.
            Assert.All(Enumerable.Range(0, 10), i => Assert.Equal(i == 4 ? killer.Sent[i] : 1, killer.Sent[i]));
            Assert.InRange(killer.Sent[4], 1, 2);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), result.Payload.Sha256);

            // The stored payload, read back through the surviving gateway, is exactly what was sent.
            var back = new MemoryStream();
            await modeller.DownloadPayloadAsync(t.Tenant, "s1", "model", back);
            Assert.Equal(data, back.ToArray());
            Assert.Equal(data.Length, (await t.Admin.GetPayloadManifestAsync(t.Tenant, "s1", "model")).Length);
        }
        finally
        {
            await fixture.Cluster.StartAsync("gateway1");
        }
    }

    /// <summary>
    /// Kills the gateway while the PUT of chunk <paramref name="index"/> is half on the wire: the first half of its body is
    /// sent and flushed, the gateway is killed, then the rest is written to a dead connection. No timing is involved, so a
    /// busy machine cannot let the chunk finish before the kill.
    /// </summary>
    private sealed class KillDuringChunk(int index, Func<Task> kill) : DelegatingHandler
    {
        public bool Killed { get; private set; }

        /// <summary>How many times each chunk index was sent.</summary>
        public Dictionary<int, int> Sent { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            var at = path.LastIndexOf("/chunks/", StringComparison.Ordinal);
            if (request.Method == HttpMethod.Put && at >= 0)
            {
                var chunk = int.Parse(path[(at + 8)..], System.Globalization.CultureInfo.InvariantCulture);
                lock (Sent) Sent[chunk] = Sent.GetValueOrDefault(chunk) + 1;
            }

            if (Killed || request.Method != HttpMethod.Put || request.Content is null || !path.EndsWith($"/chunks/{index}", StringComparison.Ordinal))
                return await base.SendAsync(request, cancellationToken);
            Killed = true;
            request.Content = new KilledHalfway(request.Content, kill);
            return await base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>A request body that sends its first half, runs <paramref name="kill"/>, then sends the rest.</summary>
    private sealed class KilledHalfway : HttpContent
    {
        private readonly HttpContent inner;
        private readonly Func<Task> kill;

        public KilledHalfway(HttpContent inner, Func<Task> kill)
        {
            this.inner = inner;
            this.kill = kill;
            foreach (var header in inner.Headers) Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            var body = await inner.ReadAsByteArrayAsync();
            var half = body.Length / 2;
            await stream.WriteAsync(body.AsMemory(0, half));
            await stream.FlushAsync();
            await kill();
            await stream.WriteAsync(body.AsMemory(half));
            await stream.FlushAsync();
        }

        protected override bool TryComputeLength(out long length)
        {
            length = inner.Headers.ContentLength ?? -1;
            return length >= 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
