using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.Gateway.Tests.Attacks;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Tenancy;
using Smpc.TestSupport;

namespace Smpc.Gateway.Tests.Hardening;

/// <summary>The findings of the outside probe (issue "Hostile traffic and broken storage"), each over real HTTP.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class HostileTrafficTests(EmbeddedService service)
{
    [Theory]
    [InlineData("x\n")]
    [InlineData("x\r\n")]
    [InlineData("x\n\n")]
    [InlineData("-x")]
    [InlineData("X")]
    public void AnIdWithATrailingNewlineOrOtherOddity_IsNotAnId(string id) => Assert.False(EntityKey.IsValidId(id));

    [Fact]
    public async Task IdsEndingInANewline_AreRefused_AndLeaveNothingBehind()
    {
        var tenant = "nl-" + Guid.NewGuid().ToString("N")[..8];
        var created = await AttackHttp.SendAsync(service.Http, HttpMethod.Post, "v1/tenants", service.OperatorKey, Json(new { id = tenant + "\n", displayName = "Newline" }));
        Expect.Problem(HttpStatusCode.BadRequest, ProblemTypes.Validation, created, "tenant id with a newline");
        Expect.Problem(HttpStatusCode.NotFound, ProblemTypes.NotFound, await AttackHttp.SendAsync(service.Http, HttpMethod.Get, $"v1/tenants/{tenant}", service.OperatorKey), "no tenant was stored");

        var t = await Scenario.TenantAsync(service);
        var adminKey = KeyOf(t.Admin);
        var pod = await AttackHttp.SendAsync(service.Http, HttpMethod.Post, $"v1/tenants/{t.Tenant}/pods", adminKey,
            Json(new { id = "p9\n", displayName = "Pod", identityKey = Convert.ToBase64String(new byte[32]) }));
        Expect.Problem(HttpStatusCode.BadRequest, ProblemTypes.Validation, pod, "pod id with a newline");
        var modeller = await AttackHttp.SendAsync(service.Http, HttpMethod.Post, $"v1/tenants/{t.Tenant}/modellers", adminKey, Json(new { id = "m9\n", displayName = "M" }));
        Expect.Problem(HttpStatusCode.BadRequest, ProblemTypes.Validation, modeller, "modeller id with a newline");
        var session = await AttackHttp.SendAsync(service.Http, HttpMethod.Post, $"v1/tenants/{t.Tenant}/sessions", t.ModellerKey.ApiKey,
            JsonContent.Create(new CreateSessionRequest("s9\n", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation())));
        Expect.Problem(HttpStatusCode.BadRequest, ProblemTypes.Validation, session, "session id with a newline");

        var pods = await AttackHttp.SendAsync(service.Http, HttpMethod.Get, $"v1/tenants/{t.Tenant}/pods", adminKey);
        Assert.DoesNotContain("p9", pods.Body, StringComparison.Ordinal);
        Assert.Empty(await t.Admin.ListPodSessionsAsync(t.Tenant, "p1"));

        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        var payload = await AttackHttp.SendAsync(service.Http, HttpMethod.Put, $"v1/tenants/{t.Tenant}/sessions/s1/payloads/x%0A", t.ModellerKey.ApiKey, AttackHttp.Bytes([1, 2, 3]));
        Expect.Problem(HttpStatusCode.BadRequest, ProblemTypes.MalformedRequest, payload, "payload name with a newline (a control character in the path)");
        Expect.Problem(HttpStatusCode.NotFound, ProblemTypes.NotFound,
            await AttackHttp.SendAsync(service.Http, HttpMethod.Get, $"v1/tenants/{t.Tenant}/sessions/s1/payloads/x/manifest", t.ModellerKey.ApiKey), "no payload was stored");
    }

    [Fact]
    public async Task ChunkedUploads_StopAtTheDailyPayloadQuota_EvenWhenConcurrent()
    {
        const long quota = 100_000;
        var t = await Scenario.TenantAsync(service);
        await service.Operator.SetTenantLimitsAsync(t.Tenant, new TenantLimitsRequest(1_000, 10_000, PayloadBytesPerDay: quota));
        service.Clock.Advance(TimeSpan.FromSeconds(10)); // gateways re-read a tenant's limits within seconds
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));

        // Eight concurrent uploads of 64 KiB with no Content-Length (Transfer-Encoding: chunked): nothing is declared.
        var uploads = Enumerable.Range(0, 8).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, $"v1/tenants/{t.Tenant}/sessions/s1/payloads/c{i}")
            {
                Content = new StreamContent(new UnseekableStream(new byte[64 * 1024])),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", t.ModellerKey.ApiKey);
            Assert.Null(request.Content.Headers.ContentLength);
            using var response = await service.Http.SendAsync(request);
            return AttackHttp.Parse(response.StatusCode, null, await response.Content.ReadAsStringAsync());
        }).ToList();
        var answers = await Task.WhenAll(uploads);

        var stored = answers.Count(a => a.Status == HttpStatusCode.Created);
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.Created), a => Expect.Problem(HttpStatusCode.TooManyRequests, ProblemTypes.QuotaExceeded, a, "over the quota"));
        Assert.InRange(stored * 64L * 1024, 1, quota);
        var usage = await service.Grains.GetGrain<ITenantUsageGrain>($"{t.Tenant}/{service.Clock.GetUtcNow().UtcDateTime:yyyy-MM-dd}").GetAsync();
        Assert.InRange(usage[UsageKind.PayloadBytes], 1, quota);
    }

    [Fact]
    public async Task ChunkedPsiUploads_CountElementsAsTheyStream()
    {
        var t = await Scenario.TenantAsync(service);
        await service.Operator.SetTenantLimitsAsync(t.Tenant, new TenantLimitsRequest(1_000, 10_000, PsiElementsPerDay: 1_000));
        service.Clock.Advance(TimeSpan.FromSeconds(10));
        var today = service.Grains.GetGrain<ITenantUsageGrain>($"{t.Tenant}/{service.Clock.GetUtcNow().UtcDateTime:yyyy-MM-dd}");
        var quotas = new Smpc.ApiGateway.Hosting.Quotas(
            new Smpc.ApiGateway.Hosting.TenantLimitsCache(service.Grains, service.Clock, Microsoft.Extensions.Options.Options.Create(new Smpc.ApiGateway.Hosting.RateLimitOptions())),
            Microsoft.Extensions.Options.Options.Create(new Smpc.ApiGateway.Hosting.QuotaOptions()), service.Grains, service.Clock);
        var upload = await quotas.ForUploadAsync(t.Tenant);
        var payload = service.Grains.GetPayload(new PayloadKey(new EntityKey(t.Tenant, "s1"), "psi-set"));
        const int Element = 32, PerChunk = 333;
        var id = await payload.BeginAsync(new PayloadConstraints(0, Element * PerChunk, null, ElementBytes: Element, MaxLength: 1 << 30));

        // The payload grain counts whole elements with each chunk it stores; 1,000 elements is the day's quota.
        await payload.WriteChunkAsync(id, 0, new byte[Element * PerChunk], upload.Quota);
        Assert.Equal(PerChunk, (await today.GetAsync())[UsageKind.PsiElements]);
        await payload.WriteChunkAsync(id, 1, new byte[Element * PerChunk], upload.Quota);
        await payload.WriteChunkAsync(id, 2, new byte[Element * PerChunk], upload.Quota);
        var over = await payload.WriteChunkAsync(id, 3, new byte[Element * 2], upload.Quota);
        Assert.Equal((UsageKind.PsiElements, 3), (over.OverQuota, over.Upload.ChunksStored)); // neither stored nor counted
        Assert.Equal(999, (await today.GetAsync())[UsageKind.PsiElements]);
        Assert.Throws<Smpc.ApiGateway.Hosting.QuotaExceededException>(() => upload.Check(over));
        var last = await payload.WriteChunkAsync(id, 3, new byte[Element], upload.Quota);
        Assert.Equal((null, 4), (last.OverQuota, last.Upload.ChunksStored));
        Assert.Equal(1_000, (await today.GetAsync())[UsageKind.PsiElements]);
    }

    [Theory]
    [InlineData(1e-12)]
    [InlineData(0.0009)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(100_001)]
    public async Task ARateTheLimiterCannotRepresent_IsRefused(double rate)
    {
        var t = await Scenario.TenantAsync(service);
        await Expect.ProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => service.Operator.SetTenantLimitsAsync(t.Tenant, new TenantLimitsRequest(rate, 2)));
        Assert.NotNull(await t.Modeller.WhoAmIAsync()); // the tenant keeps working
    }

    [Fact]
    public async Task TheSlowestAllowedRate_IsEnforced_NotA500()
    {
        var t = await Scenario.TenantAsync(service);
        await service.Operator.SetTenantLimitsAsync(t.Tenant, new TenantLimitsRequest(0.001, 2));
        service.Clock.Advance(TimeSpan.FromSeconds(10));

        var answers = new List<Answer>();
        for (var i = 0; i < 3; i++) answers.Add(await AttackHttp.SendAsync(service.Http, HttpMethod.Get, "v1/me", t.ModellerKey.ApiKey));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], answers.Select(a => a.Status));
        Assert.True(int.Parse(answers[2].RetryAfter!, System.Globalization.CultureInfo.InvariantCulture) >= 1);
    }

    public static TheoryData<string, string> MalformedFraming => new()
    {
        { "NUL byte in the path", "GET {path}\0x HTTP/1.1\r\nHost: h\r\n\r\n" },
        { "encoded NUL in the path", "GET {path}%00x HTTP/1.1\r\nHost: h\r\n\r\n" },
        { "30,000-character segment", "GET {path}/" + new string('a', 30_000) + " HTTP/1.1\r\nHost: h\r\n\r\n" },
        { "duplicate Content-Length", "POST {path} HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc" },
        { "negative Content-Length", "POST {path} HTTP/1.1\r\nHost: h\r\nContent-Length: -3\r\n\r\n" },
        { "dot segment", "GET {path}/.. HTTP/1.1\r\nHost: h\r\n\r\n" },
        { "encoded dot segment", "GET {path}/%2e%2E HTTP/1.1\r\nHost: h\r\n\r\n" },
        { "API key in the path", "GET {path}/smpc_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: h\r\n\r\n" },
        { "header without a colon", "GET {path} HTTP/1.1\r\nHost: h\r\nBroken header\r\n\r\n" },
    };

    [Theory]
    [MemberData(nameof(MalformedFraming))]
    public async Task MalformedFraming_OnEveryRoute_IsAProblemWithTheSecurityHeaders(string name, string template)
    {
        var failures = new List<string>();
        foreach (var (_, route) in RouteTable.Documented.Append(("get", "/v1/no-such-route")))
        {
            var path = route.Replace("{tenantId}", "t1", StringComparison.Ordinal).Replace("{podId}", "p1", StringComparison.Ordinal)
                .Replace("{modellerId}", "m1", StringComparison.Ordinal).Replace("{sessionId}", "s1", StringComparison.Ordinal)
                .Replace("{keyId}", "0123456789abcdef", StringComparison.Ordinal).Replace("{uploadId}", Guid.Empty.ToString(), StringComparison.Ordinal);
            path = System.Text.RegularExpressions.Regex.Replace(path, "\\{[^}]+\\}", "x1");
            var (head, body) = await RawAsync(template.Replace("{path}", path, StringComparison.Ordinal));
            var problem = Check(head, body);
            if (problem is not null) failures.Add($"{route}: {problem}\n{head}");
        }

        Assert.True(failures.Count == 0, $"{name}:\n{string.Join("\n", failures.Take(5))}");
    }

    [Fact]
    public async Task BindingFailures_AreWordedForApiUsers_AndAnOversizeBodyIsTitledAsSuch()
    {
        var t = await Scenario.TenantAsync(service);
        var noBody = await AttackHttp.SendAsync(service.Http, HttpMethod.Post, $"v1/tenants/{t.Tenant}/sessions", t.ModellerKey.ApiKey);
        var wrongType = await AttackHttp.SendAsync(service.Http, HttpMethod.Put, $"v1/tenants/{t.Tenant}/limits", service.OperatorKey,
            new StringContent("{\"requestsPerSecond\":\"fast\",\"burst\":2}", Encoding.UTF8, "application/json"));
        var oversize = await AttackHttp.SendAsync(service.Http, HttpMethod.Post, $"v1/tenants/{t.Tenant}/sessions", t.ModellerKey.ApiKey,
            new StringContent("{\"id\":\"" + new string('a', 8_000) + "\"}", Encoding.UTF8, "application/json"));

        foreach (var answer in new[] { noBody, wrongType })
        {
            Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
            Assert.DoesNotContain("parameter", answer.Detail, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("System.", answer.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain("Implicit", answer.Detail, StringComparison.Ordinal);
        }

        Assert.Contains("JSON", noBody.Detail, StringComparison.Ordinal);
        Assert.Contains("$.requestsPerSecond", wrongType.Detail, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge, "Payload too large"), (oversize.Status, oversize.Type, oversize.Title));
    }

    [Fact]
    public async Task NoResponse_NamesTheServerSoftware()
    {
        using var response = await service.Http.GetAsync("health/live");
        Assert.False(response.Headers.Contains("Server"));
    }

    /// <summary>Why a raw answer is not a problem with the security headers, or null when it is.</summary>
    private static string? Check(string head, string body)
    {
        if (!head.StartsWith("HTTP/1.1 4", StringComparison.Ordinal)) return "not a 4xx";
        if (!head.Contains("Content-Type: application/problem+json", StringComparison.OrdinalIgnoreCase)) return "not application/problem+json";
        foreach (var (name, value) in Smpc.ApiGateway.Hosting.SecurityHeaders.All)
            if (!head.Contains($"{name}: {value}", StringComparison.OrdinalIgnoreCase)) return $"no {name}";
        if (head.Contains("\r\nServer:", StringComparison.OrdinalIgnoreCase)) return "names the server";
        try
        {
            using var json = JsonDocument.Parse(body);
            if (!json.RootElement.TryGetProperty("type", out var type) || !type.GetString()!.StartsWith("https://smpc.dev/problems/", StringComparison.Ordinal)) return "no stable type";
            if (!json.RootElement.TryGetProperty("title", out _)) return "no title";
        }
        catch (JsonException)
        {
            return "body is not JSON: " + body;
        }

        return null;
    }

    private async Task<(string Head, string Body)> RawAsync(string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(service.Http.BaseAddress!.Host, service.Http.BaseAddress.Port);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request.Replace("Host: h\r\n", "Host: h\r\nConnection: close\r\n", StringComparison.Ordinal)));
        var received = new MemoryStream();
        try
        {
            await stream.CopyToAsync(received).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (IOException)
        {
            // reset after the answer
        }

        var text = Encoding.UTF8.GetString(received.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (split < 0) return (text, "");
        var head = text[..split];
        var body = text[(split + 4)..];
        if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase)) body = Dechunk(body);
        return (head, body);
    }

    private static string Dechunk(string body)
    {
        var result = new StringBuilder();
        var at = 0;
        while (at < body.Length)
        {
            var line = body.IndexOf("\r\n", at, StringComparison.Ordinal);
            if (line < 0) break;
            var size = Convert.ToInt32(body[at..line], 16);
            if (size == 0) break;
            result.Append(body, line + 2, size);
            at = line + 2 + size + 2;
        }

        return result.ToString();
    }

    private static JsonContent Json(object body) => JsonContent.Create(body);

    private static string KeyOf(SmpcClient client) => client.ApiKey ?? throw new InvalidOperationException("client without a key");

    /// <summary>A stream HttpClient cannot measure, so it sends the body chunked.</summary>
    private sealed class UnseekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    }
}
