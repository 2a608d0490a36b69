using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Smpc.ApiGateway.Auth;
using Smpc.ApiGateway.Hosting;
using Smpc.Contracts;
using Smpc.Silo.Hosting;
using Smpc.TestSupport;

namespace Smpc.Gateway.Tests.Hardening;

/// <summary>The Orleans Dashboard on the co-hosted gateway: operator only, browser-friendly, and not part of the API.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class DashboardTests(EmbeddedService service)
{
    [Theory]
    [InlineData("/dashboard")]
    [InlineData("/dashboard/")]
    [InlineData("/dashboard/index.min.js")]
    [InlineData("/dashboard/ClusterStats")]
    [InlineData("/DASHBOARD/ClusterStats")]
    [InlineData("/dashboard/no-such-route")]
    public async Task WithoutACredential_EveryDashboardPath_Is401_WithABasicChallenge(string path)
    {
        using var response = await SendAsync(path, null);

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated);
        var challenges = response.Headers.WwwAuthenticate.ToList();
        Assert.Equal("Basic", challenges[0].Scheme);
        Assert.StartsWith($"realm=\"{DashboardGatewayExtensions.BasicRealm}\"", challenges[0].Parameter);
        Assert.Contains(challenges, c => c.Scheme == "Bearer");
    }

    [Fact]
    public async Task TenantAdminPodAndModellerKeys_AreForbidden_AsBearerOrBasic()
    {
        var tenant = await Scenario.TenantAsync(service);
        var admin = (await service.Operator.IssueAdminKeyAsync(tenant.Tenant)).ApiKey;
        var pod = (await tenant.Admin.IssuePodKeyAsync(tenant.Tenant, "p1")).ApiKey;

        foreach (var auth in new[] { admin, pod, tenant.ModellerKey.ApiKey }.SelectMany(key => new[] { Bearer(key), Basic(key) }))
        {
            using var page = await SendAsync("/dashboard/", auth);
            await AssertProblemAsync(page, HttpStatusCode.Forbidden, ProblemTypes.Forbidden);
            using var unrouted = await SendAsync("/dashboard/no-such-route", auth);
            await AssertProblemAsync(unrouted, HttpStatusCode.Forbidden, ProblemTypes.Forbidden);
        }
    }

    [Fact]
    public async Task ForgedRevokedAndMalformedCredentials_AreUnauthenticated()
    {
        var tenant = await Scenario.TenantAsync(service);
        var revoked = await service.Operator.IssueAdminKeyAsync(tenant.Tenant);
        await tenant.Admin.RevokeKeyAsync(tenant.Tenant, revoked.KeyId);
        var forgedOperator = OperatorKeys.Generate();

        AuthenticationHeaderValue[] credentials =
        [
            Bearer(forgedOperator), Basic(forgedOperator), Bearer(revoked.ApiKey), Basic(revoked.ApiKey),
            new("Basic", "not base64!"), new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("no colon"))), new("Digest", "x"),
        ];
        foreach (var auth in credentials)
        {
            using var response = await SendAsync("/dashboard/ClusterStats", auth);
            await AssertProblemAsync(response, HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated);
        }
    }

    [Fact]
    public async Task TheOperator_GetsThePage_ByBearerOrBasic_UnderARelaxedPolicyWithEveryOtherHeader()
    {
        foreach (var auth in new[] { Bearer(service.OperatorKey), Basic(service.OperatorKey) })
        {
            using var bare = await SendAsync("/dashboard", auth);
            Assert.True(bare.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.MovedPermanently, $"/dashboard answered {bare.StatusCode}");
            Assert.Equal("/dashboard/", bare.Headers.Location?.OriginalString);

            using var page = await SendAsync("/dashboard/", auth);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<title>Orleans Dashboard</title>", await page.Content.ReadAsStringAsync());
            Assert.Equal(DashboardGatewayExtensions.ContentSecurityPolicy, page.Headers.GetValues("Content-Security-Policy").Single());
            Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
            Assert.Equal("no-referrer", page.Headers.GetValues("Referrer-Policy").Single());
            Assert.Equal("same-origin", page.Headers.GetValues("Cross-Origin-Resource-Policy").Single());
            Assert.True(page.Headers.CacheControl?.NoStore);

            using var script = await SendAsync("/dashboard/index.min.js", auth);
            Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        }
    }

    [Fact]
    public async Task TheDashboardsDataApi_AnswersTheOperatorOnly_WithTheLiveSilo()
    {
        using var anonymous = await SendAsync("/dashboard/DashboardCounters", null);
        await AssertProblemAsync(anonymous, HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated);

        using var stats = await SendAsync("/dashboard/ClusterStats", Bearer(service.OperatorKey));
        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
        Assert.IsType<JsonObject>(JsonNode.Parse(await stats.Content.ReadAsStringAsync()));

        Assert.True(await ShowsAnActiveSiloAsync(() => SendAsync("/dashboard/DashboardCounters", Basic(service.OperatorKey))),
            "the dashboard's counters never listed this service's silo");
    }

    [Fact]
    public async Task TheGrainStateView_IsOff_EvenForTheOperator()
    {
        // It activates any grain and calls its parameterless methods: an operator key must not read tenants' grains.
        using var response = await SendAsync("/dashboard/GrainState?grainType=x&grainId=y", Bearer(service.OperatorKey));

        await AssertProblemAsync(response, HttpStatusCode.NotFound, ProblemTypes.RouteNotFound);
    }

    [Fact]
    public async Task BasicCredentials_AreRefusedOutsideTheDashboard()
    {
        using var response = await SendAsync("/v1/me", Basic(service.OperatorKey));

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("default-src 'none'; frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
    }

    [Fact]
    public async Task TheDashboard_IsNotInTheOpenApiDocument()
    {
        var document = JsonNode.Parse(await service.Http.GetStringAsync("openapi/v1.json"))!;

        Assert.DoesNotContain(document["paths"]!.AsObject(), p => p.Key.Contains("dashboard", StringComparison.OrdinalIgnoreCase)
            || p.Key.Contains("ClusterStats", StringComparison.Ordinal));
    }

    private async Task<HttpResponseMessage> SendAsync(string path, AuthenticationHeaderValue? auth)
    {
        // Not following redirects: a redirect drops the Authorization header, and the bare path's redirect is checked itself.
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = service.Http.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = auth;
        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    /// <summary>Polls the dashboard's counters (the silos publish them every second) until they list an active silo.</summary>
    internal static async Task<bool> ShowsAnActiveSiloAsync(Func<Task<HttpResponseMessage>> getCounters)
    {
        for (var i = 0; i < 1200; i++) // a bound against a hang: the counters come once a second
        {
            using var response = await getCounters();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var hosts = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["hosts"]!.AsArray();
            if (hosts.Any(h => (string?)h!["status"] == "Active")) return true;
            await Task.Delay(50);
        }

        return false;
    }

    internal static AuthenticationHeaderValue Bearer(string key) => new("Bearer", key);

    internal static AuthenticationHeaderValue Basic(string key) => new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("operator:" + key)));

    internal static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(type, (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["type"]);
    }
}

/// <summary>
/// The standalone gateway (an Orleans client process, wired as ApiGateway/Program.cs but with localhost clustering instead of
/// PostgreSQL) serves the dashboard from the silos' statistics.
/// </summary>
public sealed class StandaloneGatewayDashboardTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "smpc-dash-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _operatorKey = OperatorKeys.Generate();
    private int _gatewayPort;
    private readonly List<WebApplication> _apps = [];
    private readonly List<HttpClient> _clients = [];

    public async Task InitializeAsync()
    {
        try
        {
            _gatewayPort = await BindConflict.RetryAsync(async () =>
            {
                var gatewayPort = FreePort.Next();
                await StartAppAsync(await SmpcApp.BuildAsync(
                [
                    $"--urls=http://127.0.0.1:{FreePort.Next()}",
                    $"--Smpc:DataDirectory={_dataDirectory}",
                    $"--Smpc:SiloPort={FreePort.Next()}",
                    $"--Smpc:GatewayPort={gatewayPort}",
                    "--Smpc:CoHostGateway=false",
                    "--Logging:LogLevel:Default=Warning",
                ]));
                return gatewayPort;
            });
        }
        catch (Exception)
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts an app and keeps it for <see cref="DisposeAsync"/>; one that fails to start is disposed at once.</summary>
    private async Task StartAppAsync(WebApplication app)
    {
        try
        {
            await app.StartAsync();
        }
        catch (Exception)
        {
            try { await app.DisposeAsync(); } catch (Exception) { } // the start's own error is the one to report
            throw;
        }

        _apps.Add(app);
    }

    [Fact]
    public async Task TheStandaloneGateway_ServesTheDashboard_ToTheOperatorOnly()
    {
        var http = await StartGatewayAsync();

        using var anonymous = await SendAsync(http, "dashboard/DashboardCounters", null);
        await DashboardTests.AssertProblemAsync(anonymous, HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated);
        Assert.Equal("Basic", anonymous.Headers.WwwAuthenticate.First().Scheme);

        using var page = await SendAsync(http, "dashboard/", DashboardTests.Basic(_operatorKey));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<title>Orleans Dashboard</title>", await page.Content.ReadAsStringAsync());

        Assert.True(await DashboardTests.ShowsAnActiveSiloAsync(() => SendAsync(http, "dashboard/DashboardCounters", DashboardTests.Bearer(_operatorKey))),
            "the standalone gateway's dashboard never listed the silo");
    }

    [Fact]
    public async Task TheDashboard_MovesWithItsPath_AndIsGoneWhenOff()
    {
        var moved = await StartGatewayAsync("--Smpc:Gateway:Dashboard:Path=/ops/orleans/");
        using (var anonymous = await SendAsync(moved, "ops/orleans/", null))
            await DashboardTests.AssertProblemAsync(anonymous, HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated);
        using (var page = await SendAsync(moved, "ops/orleans/", DashboardTests.Basic(_operatorKey)))
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        using (var old = await SendAsync(moved, "dashboard/", DashboardTests.Bearer(_operatorKey)))
            await DashboardTests.AssertProblemAsync(old, HttpStatusCode.NotFound, ProblemTypes.RouteNotFound);

        var off = await StartGatewayAsync("--Smpc:Gateway:Dashboard:Enabled=false");
        using (var gone = await SendAsync(off, "dashboard/", DashboardTests.Bearer(_operatorKey)))
            await DashboardTests.AssertProblemAsync(gone, HttpStatusCode.NotFound, ProblemTypes.RouteNotFound);
        using (var basic = await SendAsync(off, "v1/me", DashboardTests.Basic(_operatorKey)))
            await DashboardTests.AssertProblemAsync(basic, HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated);
    }

    [Fact]
    public async Task TheStandaloneGateway_ServesPrometheusMetrics_ToTheOperatorOnly_WithTheClustersSilos()
    {
        var gateway = await StartGatewayAsync();
        using (var anonymous = await SendAsync(gateway, "metrics", null))
            await DashboardTests.AssertProblemAsync(anonymous, HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated);

        var text = "";
        Assert.True(await Poll.UntilAsync(async () =>
        {
            using var scrape = await SendAsync(gateway, "metrics", DashboardTests.Bearer(_operatorKey));
            Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
            text = await scrape.Content.ReadAsStringAsync();
            return text.Contains("smpc_cluster_silos{otel_scope_name=\"Smpc\",smpc_silo_status=\"Active\"} 1", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(60)), "the gateway reports the silo as active:\n" + text);
    }

    /// <summary>A gateway as ApiGateway/Program.cs builds it, an Orleans client of the test's silo.</summary>
    private async Task<HttpClient> StartGatewayAsync(params string[] settings)
    {
        var url = await BindConflict.RetryAsync(async () =>
        {
            var address = $"http://127.0.0.1:{FreePort.Next()}";
            var builder = WebApplication.CreateBuilder([$"--urls={address}", "--Logging:LogLevel:Default=Warning", .. settings]);
            builder.Configuration[$"{RestGatewayOptions.Section}:OperatorKeySha256"] = OperatorKeys.HashHex(_operatorKey);
            builder.AddSmpcTelemetry("smpc-gateway");
            builder.AddSmpcGateway();
            builder.UseOrleansClient(client => client.UseLocalhostClustering(_gatewayPort, serviceId: "smpc", clusterId: "smpc"));
            var gateway = builder.Build();
            gateway.MapSmpcGateway();
            await StartAppAsync(gateway);
            return address;
        });
        var http = new HttpClient { BaseAddress = new Uri(url + "/") };
        _clients.Add(http);
        return http;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, string path, AuthenticationHeaderValue? auth)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = auth;
        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    public async Task DisposeAsync()
    {
        foreach (var http in _clients) http.Dispose();
        _clients.Clear();
        // Gateways first, the silo last.
        foreach (var app in Enumerable.Reverse(_apps))
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        _apps.Clear();

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { }
    }
}
