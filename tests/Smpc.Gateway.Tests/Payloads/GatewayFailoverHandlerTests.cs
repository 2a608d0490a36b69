using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Smpc.Client;
using Smpc.TestSupport;

namespace Smpc.Gateway.Tests.Payloads;

/// <summary>
/// <see cref="GatewayFailoverHandler"/> against real endpoints on loopback: the embedded service (a live gateway), a closed
/// port (a dead gateway: connection refused) and a listener that reads the request and hangs up (a gateway dying mid-request).
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class GatewayFailoverHandlerTests(EmbeddedService service)
{
    private Uri Live => service.Http.BaseAddress!;

    private static Uri Dead() => new($"http://127.0.0.1:{FreePort.Next()}/");

    /// <summary>A failover handler over a handler that records the URI of every attempt.</summary>
    private static (GatewayFailoverHandler Handler, Attempts Attempts, HttpClient Http) Client(params Uri[] gateways)
    {
        var attempts = new Attempts();
        var handler = new GatewayFailoverHandler(gateways, 0, attempts);
        return (handler, attempts, new HttpClient(handler) { BaseAddress = gateways[0] });
    }

    [Fact]
    public async Task ARequest_ToADeadFirstGateway_LandsOnTheSecond_WithItsPathAndQuery()
    {
        var dead = Dead();
        var (handler, attempts, http) = Client(dead, Live);
        using var _ = http;

        using var response = await http.GetAsync("health/live?probe=1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([new Uri(dead, "health/live?probe=1"), new Uri(Live, "health/live?probe=1")], attempts.Uris);
        Assert.Equal(Live, handler.Current);
    }

    [Fact]
    public async Task AfterAFailover_LaterRequestsGoStraightToTheNewGateway()
    {
        var (handler, attempts, http) = Client(Dead(), Live);
        using var _ = http;
        (await http.GetAsync("health/live")).Dispose();
        attempts.Clear();

        using var response = await http.GetAsync("health/ready");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([new Uri(Live, "health/ready")], attempts.Uris);
        Assert.Equal(Live, handler.Current);
    }

    [Fact]
    public async Task ABodyThatCannotBeSentAgain_IsNotRetried_ButTheNextCallGoesToTheNextGateway()
    {
        var (handler, attempts, http) = Client(Dead(), Live);
        using var _ = http;

        using var streamed = new StreamContent(new NonSeekable([1, 2, 3]));
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.PutAsync("health/live", streamed));
        using var next = await http.GetAsync("health/live");

        Assert.Equal(HttpRequestError.ConnectionError, error.HttpRequestError);
        Assert.Equal(2, attempts.Uris.Count); // the failed put, then the get on the live gateway
        Assert.Equal(Live, handler.Current);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task AGatewayThatHangsUpAfterTheRequest_IsLeft_ButTheRequestIsNotSentAgain()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var dropper = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
        var hangUp = HangUpAfterTheRequestAsync(listener);
        var (handler, attempts, http) = Client(dropper, Live);
        using var _ = http;

        // The request reached the dying gateway: it may have acted on it, so the failover is the caller's to decide.
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.PostAsync("health/live", new ByteArrayContent([1])));
        await hangUp;

        Assert.NotEqual(HttpRequestError.ConnectionError, error.HttpRequestError);
        Assert.Single(attempts.Uris);
        Assert.Equal(Live, handler.Current);
    }

    [Fact]
    public async Task WhenEveryGatewayIsDead_TheConnectionFailureSurfaces_AfterEachWasTriedOnce()
    {
        var (handler, attempts, http) = Client(Dead(), Dead(), Dead());
        using var _ = http;

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("health/live"));

        Assert.Equal(HttpRequestError.ConnectionError, error.HttpRequestError);
        Assert.Equal(3, attempts.Uris.Select(u => u.Port).Distinct().Count());
        Assert.Equal(3, attempts.Uris.Count);
        Assert.Equal(handler.Gateways[0], handler.Current); // moved on past the last one tried: the next request starts at the one tried longest ago
    }

    [Fact]
    public async Task ConcurrentRequests_AllFailOver_AndNoneTriesAGatewayTwice()
    {
        var (handler, attempts, http) = Client(Dead(), Live);
        using var _ = http;

        var responses = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => http.GetAsync("health/live")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var r in responses) r.Dispose();
        Assert.InRange(attempts.Uris.Count, 33, 64); // each request at most once per gateway; at least one met the dead one
        Assert.Equal(32, attempts.Uris.Count(u => u.Port == Live.Port));
        Assert.Equal(Live, handler.Current);
    }

    [Fact]
    public async Task ForGateways_WithADeadFirstGateway_UploadsResumably_ThroughTheLiveOne()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var client = SmpcClient.ForGateways([Dead(), Live], t.ModellerKey.ApiKey, TimeSpan.FromSeconds(30));
        var bytes = RandomNumberGenerator.GetBytes((1 << 20) + 3);

        var result = await client.UploadPayloadResumableAsync(t.Tenant, "s1", "input", new MemoryStream(bytes));

        Assert.Equal((2, 2, 0), (result.Chunks, result.ChunksSent, result.Resumes)); // the dead gateway cost no resume
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), result.Payload.Sha256);
        Assert.Equal("ready", (await client.GetReadinessAsync()).Status);
    }

    [Fact]
    public void TheHandler_RefusesAnEmptyOrRelativeGatewayList_AndAFirstIndexOutOfRange()
    {
        Assert.Throws<ArgumentException>(() => new GatewayFailoverHandler([]));
        Assert.Throws<ArgumentException>(() => new GatewayFailoverHandler([new Uri("gateway/", UriKind.Relative)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GatewayFailoverHandler([Live], first: 1));
    }

    private static async Task HangUpAfterTheRequestAsync(TcpListener listener)
    {
        using var socket = await listener.AcceptSocketAsync();
        var buffer = new byte[4096];
        var head = new StringBuilder();
        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await socket.ReceiveAsync(buffer);
            if (read == 0) break;
            head.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        socket.Shutdown(SocketShutdown.Both);
    }

    /// <summary>The transport under the failover handler: records every attempt's URI, then sends it.</summary>
    private sealed class Attempts() : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly List<Uri> _uris = [];

        public List<Uri> Uris
        {
            get { lock (_uris) return [.. _uris]; }
        }

        public void Clear()
        {
            lock (_uris) _uris.Clear();
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (_uris) _uris.Add(request.RequestUri!);
            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>A stream that can be read once, like a network or pipe source.</summary>
    private sealed class NonSeekable(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
