using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Smpc.Agent.SecureAggregation;
using Smpc.Client;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.TestSupport;

namespace Smpc.Gateway.Tests.Operations;

/// <summary>
/// The operator's Prometheus scrape endpoint (<c>/metrics</c>) on the real embedded service: who may read it, and that every
/// metric the Grafana dashboard and the alert rules in deploy/observability use is really exported after a real session,
/// so the dashboard and the alerts cannot drift from the code.
/// </summary>
[Collection(MetricsServiceCollection.Name)]
public sealed class MetricsEndpointTests(MetricsService service)
{
    private async Task<HttpResponseMessage> ScrapeAsync(string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "metrics");
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await service.Http.SendAsync(request);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(type, problem.RootElement.GetProperty("type").GetString());
        Assert.DoesNotContain("# TYPE", await response.Content.ReadAsStringAsync()); // no metric text leaks into a refusal
    }

    [Fact]
    public async Task Metrics_AnswerTheOperatorOnly_WithProblemsForNoKeyAWrongKeyAndATenantAdmin()
    {
        var tenant = await Scenario.TenantAsync(service);
        var adminKey = (await tenant.Admin.IssueAdminKeyAsync(tenant.Tenant)).ApiKey;

        await AssertProblemAsync(await ScrapeAsync(null), HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated);
        await AssertProblemAsync(await ScrapeAsync(Smpc.ApiGateway.Auth.OperatorKeys.Generate()), HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated);
        await AssertProblemAsync(await ScrapeAsync(adminKey), HttpStatusCode.Forbidden, ProblemTypes.Forbidden);
        await AssertProblemAsync(await ScrapeAsync(tenant.ModellerKey.ApiKey), HttpStatusCode.Forbidden, ProblemTypes.Forbidden);

        var text = await ScrapeTextAsync();
        Assert.Contains("# TYPE ", text);
        Assert.Contains("http_server_request_duration_seconds_bucket", text);
    }

    [Fact]
    public async Task Metrics_AreNotInTheOpenApiDocument_NorInTheRequestMetrics()
    {
        await ScrapeTextAsync();
        var document = await service.Http.GetStringAsync("openapi/v1.json");
        Assert.DoesNotContain("\"/metrics\"", document);
        // The exporter may answer from its short scrape cache, so the document's request shows up within a few scrapes.
        var text = "";
        var counted = await Poll.UntilAsync(async () =>
        {
            text = await ScrapeTextAsync();
            return text.Split('\n').Any(l => l.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal) && l.Contains("http_route=\"/openapi/{documentName}.json\"", StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(60));
        Assert.True(counted, "the OpenAPI document's request is in the request metrics");
        Assert.DoesNotContain(text.Split('\n'), l => l.StartsWith("http_server_request_duration_seconds", StringComparison.Ordinal) && l.Contains("http_route=\"/metrics\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EveryLongPoll_IsTaggedLongPoll_ThePodAgentsIdlePollToo_OtherReadsAreNot()
    {
        var t = await Scenario.TenantWithSessionAsync(service, "lp");
        var session = await t.Admin.GetSessionAsync(t.Tenant, "lp");
        // waitSeconds=0: each answers at once, and each is still a long poll (its wait is the caller's choice).
        await t.Admin.WaitForSessionChangeAsync(t.Tenant, "lp", session.Version, waitSeconds: 0);
        await t.Pods["p1"].WaitForPodSessionsAsync(t.Tenant, "p1", "lp", waitSeconds: 0);
        await t.Pods["p1"].ListPodSessionsAsync(t.Tenant, "p1");
        using (var audit = new HttpRequestMessage(HttpMethod.Get, $"v1/tenants/{t.Tenant}/audit?after=0"))
        {
            audit.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (await t.Admin.IssueAdminKeyAsync(t.Tenant)).ApiKey);
            using var answered = await service.Http.SendAsync(audit);
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode); // "after" here is a cursor, not a long poll
        }

        static bool Counted(string line, string route) =>
            line.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal) && line.Contains($"http_route=\"{route}\"", StringComparison.Ordinal);
        const string LongPoll = "smpc_long_poll=\"true\"";
        string[] lines = [];
        var seen = await Poll.UntilAsync(async () =>
        {
            lines = (await ScrapeTextAsync()).Split('\n');
            return lines.Any(l => Counted(l, "/v1/tenants/{tenantId}/pods/{podId}/sessions") && l.Contains(LongPoll, StringComparison.Ordinal))
                && lines.Any(l => Counted(l, "/v1/tenants/{tenantId}/pods/{podId}/sessions") && !l.Contains(LongPoll, StringComparison.Ordinal))
                && lines.Any(l => Counted(l, "/v1/tenants/{tenantId}/sessions/{sessionId}") && l.Contains(LongPoll, StringComparison.Ordinal))
                && lines.Any(l => Counted(l, "/v1/tenants/{tenantId}/audit"));
        }, TimeSpan.FromSeconds(60));
        Assert.True(seen, "both long polls tagged, the plain pod-session list and the audit list counted:\n" + string.Join('\n', lines.Where(l => l.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal))));
        Assert.DoesNotContain(lines, l => Counted(l, "/v1/tenants/{tenantId}/audit") && l.Contains(LongPoll, StringComparison.Ordinal));
    }

    [Fact]
    public async Task EveryMetricTheDashboardAndAlertsUse_IsScraped_AfterARealSessionAndARefusedQuota()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var webhookTenant = await Scenario.TenantAsync(service, ["p1", "p2", "p3"]);
        var webhooks = await TryRegisterWebhookAsync(webhookTenant, receiver.Url);
        await RunSecureAggregationAsync(webhookTenant);
        await RunPsiAsync();
        await RefuseOverSessionQuotaAsync();
        if (webhooks) Assert.True(await Poll.UntilAsync(() => Task.FromResult(receiver.Received > 0), TimeSpan.FromSeconds(60)), "a webhook delivery arrived");

        var used = ObservabilityFiles.DashboardMetricNames().Concat(ObservabilityFiles.AlertMetricNames())
            .Except(ObservabilityFiles.RecordedNames()).Except(ObservabilityFiles.PrometheusOwnNames).ToHashSet();
        Assert.NotEmpty(used);

        // Poll: the census gauge refreshes in the background, and the exporter may cache a scrape briefly.
        HashSet<string> missing = [];
        var scraped = "";
        await Poll.UntilAsync(async () =>
        {
            scraped = await ScrapeTextAsync();
            var exported = ExportedNames(scraped);
            missing = [.. used.Where(name => !exported.Contains(name)).Order()];
            return missing.Count == 0;
        }, TimeSpan.FromSeconds(60));
        if (Environment.GetEnvironmentVariable("SMPC_DUMP_SCRAPE") is { Length: > 0 } dump) await File.WriteAllTextAsync(dump, scraped);

        Assert.True(missing.Count == 0, "Not exported: " + string.Join(", ", missing) + (webhooks ? "" : " (the webhook routes are not there yet)") + "\n--- scrape ---\n" + scraped);

        // The refused request is in the request metrics under its route template, with its status.
        Assert.Contains(scraped.Split('\n'), l => l.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal)
            && l.Contains("http_response_status_code=\"429\"", StringComparison.Ordinal) && l.Contains("http_route=\"/v1/tenants/{tenantId}/sessions/\"", StringComparison.Ordinal));
        // Both kinds' ends and phases are counted, tagged with their kind.
        foreach (var kind in new[] { "SecureAggregation", "PrivateSetIntersection" })
        {
            Assert.Contains(scraped.Split('\n'), l => l.StartsWith("smpc_sessions_ended_total{", StringComparison.Ordinal)
                && l.Contains($"smpc_session_kind=\"{kind}\"", StringComparison.Ordinal) && l.Contains("smpc_session_outcome=\"completed\"", StringComparison.Ordinal));
            Assert.Contains(scraped.Split('\n'), l => l.StartsWith("smpc_session_phase_end_seconds_count{", StringComparison.Ordinal)
                && l.Contains($"smpc_session_kind=\"{kind}\"", StringComparison.Ordinal));
        }

        Assert.Contains(scraped.Split('\n'), l => l.StartsWith("smpc_quota_rejections_total{", StringComparison.Ordinal)
            && l.Contains("smpc_quota=\"concurrent_sessions\"", StringComparison.Ordinal) && !l.EndsWith(" 0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheRealSession_IsCounted_ByKindPhaseAndOutcome()
    {
        await RunSecureAggregationAsync();
        var text = "";
        Assert.True(await Poll.UntilAsync(async () =>
        {
            text = await ScrapeTextAsync();
            return text.Contains("smpc_sessions_ended_total{", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(30)), "the session's end is counted");
        var ended = text.Split('\n').Where(l => l.StartsWith("smpc_sessions_ended_total{", StringComparison.Ordinal)).ToList();
        Assert.Contains(ended, l => l.Contains("smpc_session_kind=\"SecureAggregation\"", StringComparison.Ordinal) && l.Contains("smpc_session_outcome=\"completed\"", StringComparison.Ordinal));
        foreach (var phase in new[] { "KeyExchange", "ShareExchange", "MaskedInput", "Unmasking" })
            Assert.Contains(text.Split('\n'), l => l.StartsWith("smpc_session_phase_end_seconds_count{", StringComparison.Ordinal)
                && l.Contains($"smpc_phase=\"{phase}\"", StringComparison.Ordinal) && l.Contains("smpc_session_kind=\"SecureAggregation\"", StringComparison.Ordinal));
    }

    private async Task<string> ScrapeTextAsync()
    {
        using var response = await ScrapeAsync(service.OperatorKey);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Every name a sample line of the text format carries, with a histogram's base name for its _bucket/_sum/_count.</summary>
    internal static HashSet<string> ExportedNames(string text)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var end = line.IndexOfAny(['{', ' ']);
            var name = end < 0 ? line : line[..end];
            names.Add(name);
            foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
                if (name.EndsWith(suffix, StringComparison.Ordinal)) names.Add(name[..^suffix.Length]);
        }

        return names;
    }

    /// <summary>
    /// Registers a webhook for every event of <paramref name="t"/>'s tenant at the loopback receiver (CreateWebhook, as
    /// /work/prompts/rest20.md fixes it), so the session's events are delivered; false while the route does not exist.
    /// </summary>
    private async Task<bool> TryRegisterWebhookAsync(TenantClients t, string url)
    {
        var adminKey = (await t.Admin.IssueAdminKeyAsync(t.Tenant)).ApiKey;
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/tenants/{t.Tenant}/webhooks") { Content = JsonContent.Create(new { url }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        using var response = await service.Http.SendAsync(request);
        if (response.StatusCode == HttpStatusCode.NotFound && (await response.Content.ReadAsStringAsync()).Contains(ProblemTypes.RouteNotFound, StringComparison.Ordinal)) return false;
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"CreateWebhook answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return true;
    }

    /// <summary>An ECDH PSI intersection, run to completion by the real pod runner and modeller.</summary>
    private async Task RunPsiAsync()
    {
        using var scenario = new Psi.PsiScenario();
        scenario.Write(Psi.PsiScenario.ModellerRows, Psi.PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var (outcome, failure, _) = await scenario.RunAsync(t, Psi.PsiScenario.Spec(PsiProtocolNames.Ecdh, PsiModeNames.Intersection));
        Assert.Null(failure);
        Assert.Equal(5, outcome!.Count);
    }

    /// <summary>A secure-aggregation session of three pods, run to completion over HTTP by the real pod drivers and modeller.</summary>
    private async Task RunSecureAggregationAsync(TenantClients? tenant = null)
    {
        var pods = new[] { "p1", "p2", "p3" };
        var t = tenant ?? await Scenario.TenantAsync(service, pods);
        var spec = new AggregationRequest([new AggregationFieldRequest("w", 2, -100, 100)], "mean", "", "weights") { PhaseTimeoutSeconds = 60 };
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "agg", "m1", pods, spec);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var podTasks = pods.Select((pod, i) => new SecureAggregationPodDriver(t.Pods[pod], t.Tenant, "agg", pod, t.Identities[pod], _ => [i, 2.0 * i])
        {
            PollInterval = TimeSpan.FromMilliseconds(20),
        }.RunAsync(cts.Token)).ToList();
        var outcome = await modeller.WaitForResultAsync(cts.Token);
        await Task.WhenAll(podTasks);
        Assert.Equal(3, outcome.IncludedParties.Count());
        Assert.Equal(SessionPhases.Completed, (await t.Modeller.GetSessionAsync(t.Tenant, "agg")).Phase);
    }

    /// <summary>A tenant allowed one running session asks for a second: 429 quota-exceeded, counted as a quota rejection.</summary>
    private async Task RefuseOverSessionQuotaAsync()
    {
        var t = await Scenario.TenantAsync(service);
        await service.Operator.SetTenantLimitsAsync(t.Tenant, new TenantLimitsRequest(1000, 1000, MaxConcurrentSessions: 1));
        service.Clock.Advance(TimeSpan.FromSeconds(6)); // past the gateway's limits cache (5 s), on the service's clock
        Assert.True(await Poll.UntilAsync(async () =>
        {
            var id = "q" + Guid.NewGuid().ToString("N")[..8];
            try
            {
                await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(id, "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
                return false; // the gateway's copy of the limits may be a few seconds old: the next one is refused
            }
            catch (SmpcApiException e) when (e.Status == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal(ProblemTypes.QuotaExceeded, e.Type);
                return true;
            }
        }, TimeSpan.FromSeconds(60)), "a session over the tenant's quota is refused");
    }
}

/// <summary>An embedded service of its own for the scrape tests.</summary>
public sealed class MetricsService : EmbeddedService;

/// <summary>
/// The scrape tests run alone. Hosts in one process share instrument names (ASP.NET Core's and Orleans' meters), and
/// OpenTelemetry stops exporting a metric stream when any same-named instrument is disposed: another test's host shutting
/// down during a scrape test would take <c>http.server.request.duration</c> out of this service's scrape. (One process
/// runs one host in production.)
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsServiceCollection : ICollectionFixture<MetricsService>
{
    public const string Name = "embedded service for metrics, alone";
}
