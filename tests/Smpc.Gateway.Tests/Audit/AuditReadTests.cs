using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Access;
using static Smpc.Gateway.Tests.Audit.AuditReading;

namespace Smpc.Gateway.Tests.Audit;

/// <summary>Reading the audit log over REST: paging, filters, the JSON-lines export, a pod's own view, who may read, and that nothing can change it.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class AuditReadTests(EmbeddedService service)
{
    private const int ScenarioEntries = 10; // tenant, admin key, 3 × (pod, key), modeller, key

    [Fact]
    public async Task Paging_FollowsTheCursorAcrossStoragePages_WithoutGapsOrRepeats()
    {
        var t = await Scenario.TenantAsync(service);
        // Two entries per pod (registration and key): 130 more pods take the log past its first stored page of 256.
        await Parallel.ForEachAsync(Enumerable.Range(0, 130), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
            await t.Admin.RegisterPodAsync(t.Tenant, new RegisterPodRequest($"bulk-{i}", "Bulk", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))), ct));

        var pages = new List<AuditPageResponse>();
        for (long? next = 0; next is { } after;)
        {
            pages.Add(await t.Admin.ListAuditAsync(t.Tenant, after: after, limit: 50));
            next = pages[^1].Next;
        }

        var total = ScenarioEntries + 260;
        Assert.Equal(Enumerable.Repeat(50, 5).Append(total - 250), pages.Select(p => p.Entries.Count));
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), pages.SelectMany(p => p.Entries).Select(e => e.Sequence));
        Assert.All(pages, p => Assert.Equal(total, p.Head));
        Assert.Equal([50, 100, 150, 200, 250, null], pages.Select(p => p.Next));

        var registrations = await AllAsync(t.Admin, t.Tenant, new AuditFilter(Type: AuditEventTypes.PodRegistered), limit: 40);
        Assert.Equal(133, registrations.Count);
        Assert.Equal(registrations.Select(e => e.Sequence).Order(), registrations.Select(e => e.Sequence));
        Assert.Equal(133, registrations.Select(e => e.Pods.Single()).Distinct().Count());
    }

    [Fact]
    public async Task Filters_SelectByTypeOrFamily_Session_Actor_Pod_AndTime()
    {
        var t = await Scenario.TenantAsync(service);
        var adminKey = (await t.Admin.WhoAmIAsync()).KeyId!;
        service.Clock.Advance(TimeSpan.FromMinutes(1));
        var cut = service.Clock.GetUtcNow();
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("f1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        var extra = await t.Admin.IssuePodKeyAsync(t.Tenant, "p1");
        service.Clock.Advance(TimeSpan.FromMinutes(1));
        var later = service.Clock.GetUtcNow();
        await t.Admin.RevokeKeyAsync(t.Tenant, extra.KeyId);

        async Task<IEnumerable<string>> TypesAsync(AuditFilter filter) => (await AllAsync(t.Admin, t.Tenant, filter)).Select(e => e.Type);

        Assert.Equal([AuditEventTypes.SessionCreated], await TypesAsync(new AuditFilter(Type: "session.*")));
        Assert.Equal(6, (await TypesAsync(new AuditFilter(Type: AuditEventTypes.CredentialIssued))).Count());
        Assert.Equal([AuditEventTypes.CredentialIssued, AuditEventTypes.CredentialIssued, AuditEventTypes.CredentialIssued, AuditEventTypes.CredentialIssued,
            AuditEventTypes.CredentialIssued, AuditEventTypes.CredentialIssued, AuditEventTypes.CredentialRevoked], await TypesAsync(new AuditFilter(Type: "credential.*")));
        Assert.Equal([AuditEventTypes.SessionCreated], await TypesAsync(new AuditFilter(Session: "f1")));
        Assert.Empty(await TypesAsync(new AuditFilter(Session: "nope")));
        Assert.Equal([AuditEventTypes.SessionCreated], await TypesAsync(new AuditFilter(Actor: "m1")));
        Assert.Equal([AuditEventTypes.SessionCreated], await TypesAsync(new AuditFilter(Actor: "modeller")));
        Assert.Equal([AuditEventTypes.SessionCreated], await TypesAsync(new AuditFilter(Actor: t.ModellerKey.KeyId)));
        Assert.Equal([AuditEventTypes.TenantCreated, AuditEventTypes.CredentialIssued], await TypesAsync(new AuditFilter(Actor: "Operator")));
        Assert.Equal(8 + 2, (await TypesAsync(new AuditFilter(Actor: adminKey))).Count()); // 4 registrations with their keys, the extra key, its revocation
        Assert.Equal([AuditEventTypes.PodRegistered, AuditEventTypes.CredentialIssued, AuditEventTypes.SessionCreated, AuditEventTypes.CredentialIssued, AuditEventTypes.CredentialRevoked],
            await TypesAsync(new AuditFilter(Pod: "p1")));
        Assert.Equal([AuditEventTypes.SessionCreated, AuditEventTypes.CredentialIssued, AuditEventTypes.CredentialRevoked], await TypesAsync(new AuditFilter(Since: cut)));
        Assert.Equal(ScenarioEntries, (await TypesAsync(new AuditFilter(Until: cut))).Count());
        Assert.Equal([AuditEventTypes.SessionCreated, AuditEventTypes.CredentialIssued], await TypesAsync(new AuditFilter(Since: cut, Until: later)));
        Assert.Equal([AuditEventTypes.CredentialIssued], await TypesAsync(new AuditFilter(Type: "credential.*", Since: cut, Until: later)));

        await RefusedAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => t.Admin.ListAuditAsync(t.Tenant, limit: 501));
        await RefusedAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => t.Admin.ListAuditAsync(t.Tenant, limit: 0));
        using var badTime = await SendAsync(HttpMethod.Get, $"v1/tenants/{t.Tenant}/audit?since=yesterday", (await t.Admin.IssueAdminKeyAsync(t.Tenant)).ApiKey);
        Assert.Equal(HttpStatusCode.BadRequest, badTime.StatusCode);
    }

    [Fact]
    public async Task Export_StreamsEveryEntryAsJsonLines_ThatParseOneByOne_AndHonoursFilters()
    {
        var t = await Scenario.TenantAsync(service);
        var adminKey = await t.Admin.IssueAdminKeyAsync(t.Tenant);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("x1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        var listed = await AllAsync(t.Admin, t.Tenant);

        using var response = await SendAsync(HttpMethod.Get, $"v1/tenants/{t.Tenant}/audit/export", adminKey.ApiKey);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(AuditEventTypes.JsonLines, response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("\n", body, StringComparison.Ordinal);
        var lines = body.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var exported = lines.Select(line =>
        {
            using var document = JsonDocument.Parse(line); // each line is one complete JSON object
            Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
            return JsonSerializer.Deserialize<AuditEntryResponse>(line, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        }).ToList();
        Assert.Equal(listed.Select(Describe), exported.Select(Describe));
        Assert.Equal(ScenarioEntries + 2, exported.Count);

        var credentials = new List<AuditEntryResponse>();
        await foreach (var entry in t.Admin.ExportAuditAsync(t.Tenant, new AuditFilter(Type: "credential.*"))) credentials.Add(entry);
        Assert.Equal(listed.Where(e => e.Type.StartsWith("credential.", StringComparison.Ordinal)).Select(Describe), credentials.Select(Describe));

        await RefusedAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, async () => { await foreach (var _ in t.Pods["p1"].ExportAuditAsync(t.Tenant)) { } });
        var other = await Scenario.TenantAsync(service);
        await RefusedAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, async () => { await foreach (var _ in other.Admin.ExportAuditAsync(t.Tenant)) { } });
    }

    [Fact]
    public async Task APod_ReadsEveryEntryAboutItself_AndNothingElse()
    {
        var t = await Scenario.TenantAsync(service, ["p1", "p2", "p3", "p4"]);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("with-p1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("without-p1", "m1", SessionKinds.SecureAggregation, ["p2", "p3", "p4"], Scenario.SmallAggregation()));
        var extra = await t.Admin.IssuePodKeyAsync(t.Tenant, "p1");
        await t.Admin.RevokeKeyAsync(t.Tenant, extra.KeyId);
        await t.Admin.IssuePodKeyAsync(t.Tenant, "p2");

        var own = await AllAsync(t.Pods["p1"], t.Tenant, pod: "p1");

        Assert.Equal([AuditEventTypes.PodRegistered, AuditEventTypes.CredentialIssued, AuditEventTypes.SessionCreated, AuditEventTypes.CredentialIssued, AuditEventTypes.CredentialRevoked],
            own.Select(e => e.Type));
        Assert.All(own, e => Assert.Contains("p1", e.Pods));
        Assert.Equal("with-p1", own[2].Session);
        Assert.Equal(extra.KeyId, own[4].KeyId);
        Assert.Equal(own.Select(Describe), (await AllAsync(t.Admin, t.Tenant, pod: "p1")).Select(Describe)); // the admin sees the same view
        Assert.Equal(own.Select(Describe), (await AllAsync(t.Admin, t.Tenant, new AuditFilter(Pod: "p1"))).Select(Describe));
        Assert.Equal([AuditEventTypes.SessionCreated], (await AllAsync(t.Pods["p1"], t.Tenant, new AuditFilter(Type: "session.*"), pod: "p1")).Select(e => e.Type));

        await RefusedAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Pods["p1"].ListPodAuditAsync(t.Tenant, "p2"));
        await RefusedAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Pods["p1"].ListAuditAsync(t.Tenant));
        await RefusedAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Pods["p1"].ListAuditAsync(t.Tenant, new AuditFilter(Pod: "p2")));
        await RefusedAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Modeller.ListAuditAsync(t.Tenant));
        await RefusedAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Modeller.ListPodAuditAsync(t.Tenant, "p1"));
        await RefusedAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => t.Admin.ListPodAuditAsync(t.Tenant, "p9"));
    }

    [Fact]
    public async Task AnotherTenant_AndTheOperator_FindNoLog()
    {
        var t = await Scenario.TenantAsync(service);
        var other = await Scenario.TenantAsync(service);

        await RefusedAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => other.Admin.ListAuditAsync(t.Tenant));
        await RefusedAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => other.Admin.ListPodAuditAsync(t.Tenant, "p1"));
        await RefusedAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => other.Pods["p1"].ListPodAuditAsync(t.Tenant, "p1"));
        await RefusedAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => other.Admin.ListAuditAsync("no-such-tenant"));
        await RefusedAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => service.Operator.ListAuditAsync(t.Tenant));
        await RefusedAsync(HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated, () => service.Anonymous.ListAuditAsync(t.Tenant));
        Assert.Equal(ScenarioEntries, (await AllAsync(t.Admin, t.Tenant)).Count); // and the other tenant's activity is not in this log
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    public async Task MutatingMethods_OnEveryAuditRoute_Answer405_AndNoEntryChanges(string method)
    {
        var t = await Scenario.TenantAsync(service);
        var admin = await t.Admin.IssueAdminKeyAsync(t.Tenant);
        var before = (await AllAsync(t.Admin, t.Tenant)).Select(Describe).ToList();

        foreach (var path in new[] { "audit", "audit?after=1", "audit/export", "pods/p1/audit" })
        {
            using var response = await SendAsync(new HttpMethod(method), $"v1/tenants/{t.Tenant}/{path}", admin.ApiKey, """{"type":"tenant.created","detail":"forged"}""");
            Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
            Assert.Contains(ProblemTypes.MethodNotAllowed, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var oneEntry = await SendAsync(new HttpMethod(method), $"v1/tenants/{t.Tenant}/audit/1", admin.ApiKey);
        Assert.Equal(HttpStatusCode.NotFound, oneEntry.StatusCode); // entries have no address to change or delete
        Assert.Equal(before, (await AllAsync(t.Admin, t.Tenant)).Select(Describe));
    }

    [Fact]
    public async Task TheLog_NeverHoldsAnIssuedKeysSecret_OrItsHash_InResponsesOrStorage()
    {
        var t = await Scenario.TenantAsync(service);
        var keys = new List<IssuedKeyResponse> { t.ModellerKey, await t.Admin.IssueAdminKeyAsync(t.Tenant), await t.Admin.IssuePodKeyAsync(t.Tenant, "p2") };
        var revoked = await t.Admin.IssuePodKeyAsync(t.Tenant, "p3");
        await t.Admin.RevokeKeyAsync(t.Tenant, revoked.KeyId, after: TimeSpan.FromMinutes(5));
        keys.Add(revoked);

        var exported = new List<string>();
        await foreach (var entry in t.Admin.ExportAuditAsync(t.Tenant)) exported.Add(JsonSerializer.Serialize(entry));
        var stored = await StoredAuditStateAsync(t.Tenant);
        var text = string.Join('\n', exported) + "\n" + stored;

        Assert.All(keys, k => Assert.Contains(k.KeyId, text, StringComparison.Ordinal)); // the keys are in the log, by id
        foreach (var key in keys)
        {
            var secret = Smpc.TestSupport.KeySecrets.Of(key.ApiKey);
            var hash = ApiKey.Hash(secret);
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToHexStringLower(hash), text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Convert.ToBase64String(hash), text, StringComparison.Ordinal);
        }
    }

    /// <summary>Every stored row of the tenant's audit grains, as text.</summary>
    private async Task<string> StoredAuditStateAsync(string tenant)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = service.DatabasePath, Mode = SqliteOpenMode.ReadOnly }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT CAST(PayloadBinary AS TEXT) FROM OrleansStorage WHERE GrainTypeString LIKE 'audit-%' AND GrainIdExtensionString LIKE $tenant";
        command.Parameters.AddWithValue("$tenant", tenant + "%");
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows.Add(reader.GetString(0));
        Assert.Equal(2, rows.Count); // the head and one page
        return string.Join('\n', rows);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string apiKey, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        if (json is not null) request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        return await service.Http.SendAsync(request);
    }
}
