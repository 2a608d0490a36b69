using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Smpc.Agent.SecureAggregation;
using Smpc.Client.SecureAggregation;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Webhooks;
using Smpc.Grains.Webhooks;
using Smpc.TestSupport;

namespace Smpc.Gateway.Tests.Webhooks;

/// <summary>
/// Webhooks end to end: the embedded service posts signed events to a real receiver on loopback, in order, at least once,
/// retrying a failing receiver; the delivery log, redelivery, filters, tenancy, roles and URL rules through the REST API.
/// </summary>
[Collection(WebhookServiceCollection.Name)]
public sealed class WebhookTests(WebhookService service)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private async Task<HttpResponseMessage> CallAsync(string? key, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null) request.Content = JsonContent.Create(body, options: Json);
        return await service.Http.SendAsync(request);
    }

    private async Task<T> OkAsync<T>(string? key, HttpMethod method, string path, object? body = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await CallAsync(key, method, path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonSerializer.Deserialize<T>(text, Json)!;
    }

    private Task<WebhookEndpointResponse> CreateAsync(TenantClients t, string url, IReadOnlyList<string>? types = null, string? secret = null) =>
        OkAsync<WebhookEndpointResponse>(t.Admin.ApiKey, HttpMethod.Post, $"v1/tenants/{t.Tenant}/webhooks", new CreateWebhookRequest(url, types, "test receiver", secret), HttpStatusCode.Created);

    private Task<WebhookDeliveryPageResponse> DeliveriesAsync(TenantClients t, string webhook, int limit = 500, string? cursor = null) =>
        OkAsync<WebhookDeliveryPageResponse>(t.Admin.ApiKey, HttpMethod.Get, $"v1/tenants/{t.Tenant}/webhooks/{webhook}/deliveries?limit={limit}" + (cursor is null ? "" : $"&cursor={cursor}"));

    /// <summary>A session created and cancelled: three events (created, phase-changed to cancelled, cancelled).</summary>
    private static async Task CreateAndCancelAsync(TenantClients t, string session)
    {
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(session, "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        await t.Modeller.CancelSessionAsync(t.Tenant, session, "not needed");
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what) =>
        Assert.True(await Poll.UntilAsync(condition, Patience), what);

    [Fact]
    public async Task SecureAggregationSession_EventsArriveSigned_InOrder_WithNoInputOrResult()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var pods = new[] { "p1", "p2", "p3" };
        var t = await Scenario.TenantAsync(service, pods);
        var endpoint = await CreateAsync(t, receiver.Url);
        Assert.StartsWith("whsec_", endpoint.Secret);

        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "agg", "m1", pods,
            new AggregationRequest([new AggregationFieldRequest("w", 4, -100, 100)], "mean", "", "weights") with { PhaseTimeoutSeconds = 60 });
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var inputs = new Dictionary<string, double[]> { ["p1"] = [1.25, 2, 3, 4], ["p2"] = [5, 6.5, 7, 8], ["p3"] = [9, 10, 11.75, 12] };
        var podRuns = pods.Select(p => new SecureAggregationPodDriver(t.Pods[p], t.Tenant, "agg", p, t.Identities[p], _ => inputs[p]) { PollInterval = TimeSpan.FromMilliseconds(20) }.RunAsync(cts.Token)).ToList();
        var outcome = await modeller.WaitForResultAsync(cts.Token);
        await Task.WhenAll(podRuns);

        await UntilAsync(() => Task.FromResult(receiver.Accepted.Any(r => r.Type == WebhookEventTypes.SessionCompleted)), "session.completed arrives");
        var received = receiver.Accepted;
        Assert.All(received, r => Assert.True(WebhookReceiver.SignatureIsValid(endpoint.Secret!, r), $"signature of {r.Id}"));
        Assert.All(received, r => Assert.StartsWith("msg_", r.Id));
        Assert.All(received, r => Assert.StartsWith("application/json", r.ContentType));
        Assert.Equal(received.Count, received.Select(r => r.Id).Distinct().Count());

        // In audit order, and the session's story reads as it happened.
        var sequences = received.Select(r => (long)r.Data["auditSequence"]!).ToList();
        Assert.Equal(sequences.Order(), sequences);
        var types = received.Select(r => r.Type).ToList();
        Assert.Equal(WebhookEventTypes.SessionCreated, types[0]);
        Assert.Equal(WebhookEventTypes.SessionCompleted, types[^1]);
        Assert.Equal(3, types.Count(x => x == WebhookEventTypes.SessionPodJoined));
        var phases = received.Where(r => r.Type == WebhookEventTypes.SessionPhaseChanged).Select(r => ((string)r.Data["previousPhase"]!, (string)r.Data["phase"]!)).ToList();
        Assert.Equal(
            [(SessionPhases.KeyExchange, SessionPhases.ShareExchange), (SessionPhases.ShareExchange, SessionPhases.MaskedInput),
                (SessionPhases.MaskedInput, SessionPhases.Unmasking), (SessionPhases.Unmasking, SessionPhases.Completed)],
            phases);
        Assert.Equal("secure-aggregation", (string)received[0].Data["kind"]!);
        Assert.All(received, r => Assert.Equal(t.Tenant, (string)r.Data["tenant"]!));
        Assert.All(received, r => Assert.Equal("agg", (string)r.Data["session"]!));

        // Only ids, names and phases: no member beyond the documented ones, and no input or result value in any body.
        var allowed = new HashSet<string> { "tenant", "auditSequence", "session", "kind", "phase", "previousPhase", "pods", "modeller", "keyId", "category", "detail" };
        Assert.All(received, r => Assert.Subset(allowed, r.Data.AsObject().Select(p => p.Key).ToHashSet()));
        var secrets = inputs.Values.SelectMany(v => v).Concat(outcome.Values["w"]).Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)).Where(s => s.Length > 2);
        Assert.All(received, r => Assert.All(secrets, s => Assert.DoesNotContain(s, r.Body)));

        // The delivery log shows the same deliveries, delivered, newest first.
        var log = await DeliveriesAsync(t, endpoint.Id);
        Assert.Equal(received.Select(r => r.Id).Reverse(), log.Items.Select(d => d.Id));
        Assert.All(log.Items, d => Assert.Equal(WebhookDeliveryStatuses.Delivered, d.Status));
    }

    [Fact]
    public async Task FailingReceiver_ThatRecovers_GetsEveryEventDeliveredOnce_InOrder_WithTheRetriesInTheLog()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = (n, _) => n <= 3 ? 500 : 200;
        var t = await Scenario.TenantAsync(service);
        var endpoint = await CreateAsync(t, receiver.Url);
        await CreateAndCancelAsync(t, "s1");
        await CreateAndCancelAsync(t, "s2");

        await UntilAsync(async () => (await DeliveriesAsync(t, endpoint.Id)).Items is { Count: 6 } items && items.All(d => d.Status == WebhookDeliveryStatuses.Delivered),
            "all six deliveries are delivered");
        var accepted = receiver.Accepted;
        Assert.Equal(6, accepted.Count); // each event delivered (2xx) exactly once
        Assert.Equal(6, accepted.Select(r => r.Id).Distinct().Count());
        Assert.Equal(
            [WebhookEventTypes.SessionCreated, WebhookEventTypes.SessionPhaseChanged, WebhookEventTypes.SessionCancelled,
                WebhookEventTypes.SessionCreated, WebhookEventTypes.SessionPhaseChanged, WebhookEventTypes.SessionCancelled],
            accepted.Select(r => r.Type));
        Assert.Equal(["s1", "s1", "s1", "s2", "s2", "s2"], accepted.Select(r => (string)r.Data["session"]!));
        // Head-of-line: the first event was tried four times before anything else was sent, with the same id each time.
        Assert.All(receiver.Requests.Take(4), r => Assert.Equal(accepted[0].Id, r.Id));
        var first = (await DeliveriesAsync(t, endpoint.Id)).Items[^1];
        Assert.Equal(accepted[0].Id, first.Id);
        Assert.Equal(4, first.Attempts);
        Assert.Equal(200, first.LastStatusCode);
        Assert.NotNull(first.DeliveredAt);
        Assert.Null(first.NextAttemptAt);
    }

    [Fact]
    public async Task Redeliver_SendsTheSameWebhookIdAgain_AndPaginationWalksTheLog()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var t = await Scenario.TenantAsync(service);
        var endpoint = await CreateAsync(t, receiver.Url);
        await CreateAndCancelAsync(t, "s1");
        await UntilAsync(() => Task.FromResult(receiver.Accepted.Count == 3), "three events arrive");

        var page1 = await DeliveriesAsync(t, endpoint.Id, limit: 2);
        Assert.Equal(2, page1.Items.Count);
        Assert.NotNull(page1.Next);
        var page2 = await DeliveriesAsync(t, endpoint.Id, limit: 2, cursor: page1.Next);
        Assert.Single(page2.Items);
        Assert.Null(page2.Next);
        Assert.Equal(receiver.Accepted.Select(r => r.Id).Reverse(), page1.Items.Concat(page2.Items).Select(d => d.Id));

        // The stored state keeps no body of a delivered delivery (the redelivery below rebuilds it from the audit log).
        await UntilAsync(async () => (await DeliveriesAsync(t, endpoint.Id)).Items.All(d => d.Status == WebhookDeliveryStatuses.Delivered), "all three logged delivered");
        var stored = await DispatcherStateAsync(t.Tenant);
        Assert.All(receiver.Accepted, r => Assert.DoesNotContain(JsonSerializer.Serialize(r.Body)[1..^1], stored, StringComparison.Ordinal)); // stored as JSON: the body escaped
        Assert.Contains(endpoint.Id, stored, StringComparison.Ordinal); // it is the dispatcher's state indeed

        var oldest = page2.Items[0];
        var redelivered = await OkAsync<WebhookDeliveryResponse>(t.Admin.ApiKey, HttpMethod.Post,
            $"v1/tenants/{t.Tenant}/webhooks/{endpoint.Id}/deliveries/{oldest.Id}/redeliver", null, HttpStatusCode.Accepted);
        Assert.Equal(oldest.Id, redelivered.Id);
        Assert.Equal(WebhookDeliveryStatuses.Pending, redelivered.Status);
        await UntilAsync(() => Task.FromResult(receiver.Accepted.Count == 4), "the redelivery arrives");
        Assert.Equal(oldest.Id, receiver.Accepted[3].Id);
        Assert.Equal(receiver.Accepted[0].Body, receiver.Accepted[3].Body);
        // Retried like a new delivery: its attempts start over (one now, not the first delivery's one plus this one).
        await UntilAsync(async () => (await DeliveriesAsync(t, endpoint.Id)).Items[^1].Status == WebhookDeliveryStatuses.Delivered, "the redelivery is logged delivered");
        var again = (await DeliveriesAsync(t, endpoint.Id)).Items[^1];
        Assert.Equal((oldest.Id, 1, oldest.LastStatusCode, (string?)null), (again.Id, again.Attempts, again.LastStatusCode, again.LastError));

        using var badCursor = await CallAsync(t.Admin.ApiKey, HttpMethod.Get, $"v1/tenants/{t.Tenant}/webhooks/{endpoint.Id}/deliveries?cursor=x");
        Assert.Equal(HttpStatusCode.BadRequest, badCursor.StatusCode);
        using var unknown = await CallAsync(t.Admin.ApiKey, HttpMethod.Post, $"v1/tenants/{t.Tenant}/webhooks/{endpoint.Id}/deliveries/msg_nope/redeliver");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task LostPokes_AreMadeUpByTheReminder_RegisteredWhileTheTenantHasAnEndpoint()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var t = await Scenario.TenantAsync(service);
        var endpoint = await CreateAsync(t, receiver.Url);
        var dispatcher = service.Grains.GetWebhooks(t.Tenant);
        var reminders = service.Services.GetRequiredService<IReminderTable>();
        async Task<bool> HasReminderAsync() =>
            (await reminders.ReadRows(dispatcher.GetGrainId())).Reminders.Any(r => r.ReminderName == WebhookDispatcherGrain.ReminderName);
        Assert.True(await HasReminderAsync(), "the reminder runs while the tenant has an endpoint, even with nothing pending");

        // Every poke lost: the audit log stops poking the dispatcher, as if each one-way call died with a silo.
        await service.Grains.GetAuditLog(t.Tenant).FollowAsync(false);
        try
        {
            await CreateAndCancelAsync(t, "s1");
            await dispatcher.AsReference<IRemindable>().ReceiveReminder(WebhookDispatcherGrain.ReminderName, default); // its tick
            await UntilAsync(() => Task.FromResult(receiver.Accepted.Count == 3), "the reminder's read of the audit log sends the three events");
            Assert.Equal([WebhookEventTypes.SessionCreated, WebhookEventTypes.SessionPhaseChanged, WebhookEventTypes.SessionCancelled], receiver.Accepted.Select(r => r.Type));
        }
        finally
        {
            await service.Grains.GetAuditLog(t.Tenant).FollowAsync(true);
        }

        using var deleted = await CallAsync(t.Admin.ApiKey, HttpMethod.Delete, $"v1/tenants/{t.Tenant}/webhooks/{endpoint.Id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.False(await HasReminderAsync(), "the last endpoint's deletion unregisters the reminder");
    }

    /// <summary>The dispatcher's stored state, as text (what of it is UTF-8).</summary>
    private async Task<string> DispatcherStateAsync(string tenant)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = service.DatabasePath, Mode = SqliteOpenMode.ReadOnly }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT PayloadBinary FROM OrleansStorage WHERE GrainTypeString = 'webhooks' AND GrainIdExtensionString = $t AND PayloadBinary IS NOT NULL";
        command.Parameters.AddWithValue("$t", tenant);
        var bytes = (byte[]?)await command.ExecuteScalarAsync();
        Assert.NotNull(bytes);
        return System.Text.Encoding.UTF8.GetString(bytes);
    }

    [Fact]
    public async Task EventTypeFilter_SendsOnlyTheSubscribedTypes_AndOtherTenantsGetNothing()
    {
        await using var all = await WebhookReceiver.StartAsync();
        await using var cancelledOnly = await WebhookReceiver.StartAsync();
        await using var otherTenant = await WebhookReceiver.StartAsync();
        var a = await Scenario.TenantAsync(service);
        var b = await Scenario.TenantAsync(service);
        await CreateAsync(a, all.Url);
        var filtered = await CreateAsync(a, cancelledOnly.Url, [WebhookEventTypes.SessionCancelled]);
        Assert.Equal([WebhookEventTypes.SessionCancelled], filtered.EventTypes);
        await CreateAsync(b, otherTenant.Url);

        await CreateAndCancelAsync(a, "s1");
        await CreateAndCancelAsync(b, "b1"); // b's own event arrives after a's were made: a's would have arrived too
        await UntilAsync(() => Task.FromResult(all.Accepted.Count == 3 && cancelledOnly.Accepted.Count == 1 && otherTenant.Accepted.Count == 3), "every endpoint got its events");
        Assert.Equal(WebhookEventTypes.SessionCancelled, cancelledOnly.Accepted[0].Type);
        Assert.Equal("not needed", (string)cancelledOnly.Accepted[0].Data["detail"]!);
        Assert.All(otherTenant.Accepted, r => Assert.Equal(b.Tenant, (string)r.Data["tenant"]!));
        Assert.All(otherTenant.Accepted, r => Assert.Equal("b1", (string)r.Data["session"]!));

        using var unknownType = await CallAsync(a.Admin.ApiKey, HttpMethod.Post, $"v1/tenants/{a.Tenant}/webhooks", new CreateWebhookRequest(all.Url, ["session.nope"]));
        Assert.Equal(HttpStatusCode.BadRequest, unknownType.StatusCode);
    }

    [Fact]
    public async Task AnotherTenant_TheOperator_ModellersAndPods_CannotReadOrManageWebhooks()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var a = await Scenario.TenantAsync(service);
        var b = await Scenario.TenantAsync(service);
        var endpoint = await CreateAsync(a, receiver.Url);
        var routes = new (HttpMethod Method, string Path, object? Body)[]
        {
            (HttpMethod.Get, $"v1/tenants/{a.Tenant}/webhooks", null),
            (HttpMethod.Get, $"v1/tenants/{a.Tenant}/webhooks/{endpoint.Id}", null),
            (HttpMethod.Get, $"v1/tenants/{a.Tenant}/webhooks/{endpoint.Id}/deliveries", null),
            (HttpMethod.Delete, $"v1/tenants/{a.Tenant}/webhooks/{endpoint.Id}", null),
            (HttpMethod.Post, $"v1/tenants/{a.Tenant}/webhooks", new CreateWebhookRequest("http://example.com/x")),
        };
        foreach (var (method, path, body) in routes)
        {
            using var other = await CallAsync(b.Admin.ApiKey, method, path, body);
            Assert.True(other.StatusCode == HttpStatusCode.NotFound, $"tenant B {method} {path}: {other.StatusCode}");
            using var op = await CallAsync(service.OperatorKey, method, path, body);
            Assert.True(op.StatusCode == HttpStatusCode.NotFound, $"operator {method} {path}: {op.StatusCode}");
            using var modeller = await CallAsync(a.Modeller.ApiKey, method, path, body is null ? null : new CreateWebhookRequest(receiver.Url));
            Assert.True(modeller.StatusCode == HttpStatusCode.Forbidden, $"modeller {method} {path}: {modeller.StatusCode}");
            using var pod = await CallAsync(a.Pods["p1"].ApiKey, method, path, body is null ? null : new CreateWebhookRequest(receiver.Url));
            Assert.True(pod.StatusCode == HttpStatusCode.Forbidden, $"pod {method} {path}: {pod.StatusCode}");
        }

        // Still there, with no secret on reads; then its admin deletes it.
        var read = await OkAsync<WebhookEndpointResponse>(a.Admin.ApiKey, HttpMethod.Get, $"v1/tenants/{a.Tenant}/webhooks/{endpoint.Id}");
        Assert.Null(read.Secret);
        Assert.Equal(receiver.Url, read.Url);
        Assert.Null((await OkAsync<WebhookEndpointResponse[]>(a.Admin.ApiKey, HttpMethod.Get, $"v1/tenants/{a.Tenant}/webhooks")).Single().Secret);
        using var deleted = await CallAsync(a.Admin.ApiKey, HttpMethod.Delete, $"v1/tenants/{a.Tenant}/webhooks/{endpoint.Id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(await OkAsync<WebhookEndpointResponse[]>(a.Admin.ApiKey, HttpMethod.Get, $"v1/tenants/{a.Tenant}/webhooks"));
    }

    [Theory]
    [InlineData("http://example.com/hook")] // plain http off loopback
    [InlineData("ftp://127.0.0.1/hook")]
    [InlineData("https://user:pw@example.com/hook")]
    [InlineData("/relative")]
    public async Task Create_WithAUrlOutsideTheRules_IsAnInvalidWebhookUrlProblem_AndStoresNothing(string url)
    {
        var t = await Scenario.TenantAsync(service);
        using var response = await CallAsync(t.Admin.ApiKey, HttpMethod.Post, $"v1/tenants/{t.Tenant}/webhooks", new CreateWebhookRequest(url));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(ProblemTypes.InvalidWebhookUrl, (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["type"]);
        Assert.Empty(await OkAsync<WebhookEndpointResponse[]>(t.Admin.ApiKey, HttpMethod.Get, $"v1/tenants/{t.Tenant}/webhooks"));
    }

    [Fact]
    public async Task Create_WithOwnSecret_SignsWithIt_AndRefusesAMalformedOne()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var t = await Scenario.TenantAsync(service);
        var secret = "whsec_" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var endpoint = await CreateAsync(t, receiver.Url, [WebhookEventTypes.SessionCreated], secret);
        Assert.Equal(secret, endpoint.Secret);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        await UntilAsync(() => Task.FromResult(receiver.Accepted.Count == 1), "session.created arrives");
        Assert.True(WebhookReceiver.SignatureIsValid(secret, receiver.Accepted[0]));

        using var bad = await CallAsync(t.Admin.ApiKey, HttpMethod.Post, $"v1/tenants/{t.Tenant}/webhooks", new CreateWebhookRequest(receiver.Url, Secret: "whsec_c2hvcnQ="));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Create_RetriedWithTheSameIdempotencyKey_ReplaysTheFirstAnswer_AndRegistersOneEndpoint()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var t = await Scenario.TenantAsync(service);
        var key = "create-hook-" + Guid.NewGuid().ToString("N");
        async Task<(HttpResponseMessage Response, WebhookEndpointResponse Body)> PostAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/tenants/{t.Tenant}/webhooks") { Content = JsonContent.Create(new CreateWebhookRequest(receiver.Url), options: Json) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", t.Admin.ApiKey);
            request.Headers.Add("Idempotency-Key", key);
            var response = await service.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return (response, JsonSerializer.Deserialize<WebhookEndpointResponse>(await response.Content.ReadAsStringAsync(), Json)!);
        }

        var (firstResponse, first) = await PostAsync();
        var (againResponse, again) = await PostAsync();
        using (firstResponse)
        using (againResponse)
        {
            Assert.Equal((first.Id, first.Secret), (again.Id, again.Secret));
            Assert.True(againResponse.Headers.TryGetValues("Idempotency-Replayed", out var replayed) && replayed.Single() == "true");
        }

        Assert.Single(await OkAsync<WebhookEndpointResponse[]>(t.Admin.ApiKey, HttpMethod.Get, $"v1/tenants/{t.Tenant}/webhooks"));
    }

    [Fact]
    public async Task QuotaReached_IsSentOncePerQuotaAndDay_HoweverManyRequestsItRefuses()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var t = await Scenario.TenantAsync(service);
        await service.Operator.SetTenantLimitsAsync(t.Tenant, new TenantLimitsRequest(1000, 1000, MaxConcurrentSessions: 1));
        service.Clock.Advance(TimeSpan.FromSeconds(10)); // gateways re-read a tenant's limits within seconds
        await CreateAsync(t, receiver.Url, [WebhookEventTypes.QuotaReached, WebhookEventTypes.SessionCreated]);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        for (var i = 2; i <= 4; i++)
        {
            var refused = await Assert.ThrowsAsync<Smpc.Client.SmpcApiException>(() =>
                t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest($"s{i}", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation())));
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
        }

        await UntilAsync(() => Task.FromResult(receiver.Accepted.Any(r => r.Type == WebhookEventTypes.QuotaReached)), "quota.reached arrives");
        await t.Modeller.CancelSessionAsync(t.Tenant, "s1"); // a later audit entry: anything queued before it has been delivered by now
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s5", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        await UntilAsync(() => Task.FromResult(receiver.Accepted.Any(r => r.Type == WebhookEventTypes.SessionCreated && (string?)r.Data["session"] == "s5")), "s5 arrives");
        var quota = Assert.Single(receiver.Accepted, r => r.Type == WebhookEventTypes.QuotaReached);
        Assert.Equal("max-concurrent-sessions", (string)quota.Data["category"]!);
    }

    [Fact]
    public async Task OpenApiDocument_DescribesEveryEventAsAnOpenApi31Webhook_WithTheThreeHeaders()
    {
        var document = JsonNode.Parse(await service.Http.GetStringAsync("openapi/v1.json"))!;
        var webhooks = document["webhooks"]!.AsObject();
        Assert.Equal(WebhookEventTypes.All.Order(), webhooks.Select(w => w.Key).Order());
        foreach (var (_, item) in webhooks)
        {
            var post = item!["post"]!;
            Assert.Equal([WebhookHeaders.Id, WebhookHeaders.Timestamp, WebhookHeaders.Signature], post["parameters"]!.AsArray().Select(p => (string)p!["name"]!));
            Assert.All(post["parameters"]!.AsArray(), p => Assert.Equal("header", (string)p!["in"]!));
            Assert.Equal("#/components/schemas/WebhookEventPayload", (string)post["requestBody"]!["content"]!["application/json"]!["schema"]!["$ref"]!);
        }

        Assert.NotNull(document["components"]!["schemas"]!["WebhookEventPayload"]);
        Assert.NotNull(document["components"]!["schemas"]!["WebhookEventData"]);
    }

    /// <summary>Last: it moves the service's clock a day on. A receiver that never answers 2xx is given up 24 h after the event.</summary>
    [Fact]
    public async Task ZZ_ReceiverThatNeverRecovers_IsGivenUp24HoursAfterTheEvent_AndTheQueueMovesOn()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = (_, r) => r.Json["type"]!.ToString() == WebhookEventTypes.SessionCreated ? 503 : 200;
        var t = await Scenario.TenantAsync(service);
        var endpoint = await CreateAsync(t, receiver.Url);
        await CreateAndCancelAsync(t, "s1");
        await UntilAsync(() => Task.FromResult(receiver.Requests.Count >= 3), "a few attempts");
        Assert.Empty(receiver.Accepted); // head-of-line: nothing after the failing event is sent meanwhile

        service.Clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromMinutes(1));
        await UntilAsync(() => Task.FromResult(receiver.Accepted.Count == 2), "the queue moves on after giving up");
        var log = (await DeliveriesAsync(t, endpoint.Id)).Items;
        var failed = log.Single(d => d.EventType == WebhookEventTypes.SessionCreated);
        Assert.Equal(WebhookDeliveryStatuses.Failed, failed.Status);
        Assert.Equal(503, failed.LastStatusCode);
        Assert.Equal("HTTP 503", failed.LastError);
        Assert.Null(failed.NextAttemptAt);
        Assert.All(log.Where(d => d != failed), d => Assert.Equal(WebhookDeliveryStatuses.Delivered, d.Status));
    }
}
