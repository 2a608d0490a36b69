using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Smpc.Client;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests;

/// <summary>Idempotency-Key on the creating routes, over real HTTP against the embedded service.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class IdempotencyTests(EmbeddedService service)
{
    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> SendAsync(
        HttpMethod method, string path, string apiKey, string? idempotencyKey, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new("Bearer", apiKey);
        if (idempotencyKey is not null) request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        if (body is not null) request.Content = JsonContent.Create(body, body.GetType(), options: new JsonSerializerOptions(JsonSerializerDefaults.Web));
        var response = await service.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    private static string Replayed(HttpResponseMessage r) => r.Headers.TryGetValues("Idempotency-Replayed", out var v) ? string.Join(",", v) : "";

    private static string ProblemType(string body) => JsonDocument.Parse(body).RootElement.GetProperty("type").GetString()!;

    [Fact]
    public async Task IssuePodKey_Retried_ReturnsTheSameKey_OnlyOneIsIssued_AndItWorks()
    {
        var t = await Scenario.TenantAsync(service);
        var adminKey = (await t.Admin.IssueAdminKeyAsync(t.Tenant)).ApiKey;
        var key = Guid.NewGuid().ToString();
        var first = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/pods/p1/keys", adminKey, key);
        var again = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/pods/p1/keys", adminKey, key);

        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal((first.Status, first.Body, first.Response.Headers.Location), (again.Status, again.Body, again.Response.Headers.Location));
        Assert.Equal("application/json; charset=utf-8", again.Response.Content.Headers.ContentType?.ToString());
        Assert.Equal("", Replayed(first.Response));
        Assert.Equal("true", Replayed(again.Response));
        var issued = JsonSerializer.Deserialize<IssuedKeyResponse>(first.Body, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        var keys = await t.Admin.ListPodKeysAsync(t.Tenant, "p1");
        Assert.Equal(2, keys.Count); // the registration's and this one
        Assert.Equal(issued.KeyId, keys[^1].KeyId);
        Assert.Equal("Pod", (await service.Anonymous.WithKey(issued.ApiKey).WhoAmIAsync()).Role);

        // Without the header every call issues a key.
        await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/pods/p1/keys", adminKey, null);
        Assert.Equal(3, (await t.Admin.ListPodKeysAsync(t.Tenant, "p1")).Count);

        // The stored response carries a secret: it is not in the database in the clear (nor the Idempotency-Key).
        var stored = await StoredAsync();
        Assert.DoesNotContain(stored, row => Contains(row.Bytes, Smpc.TestSupport.KeySecrets.Of(issued.ApiKey)));
        Assert.DoesNotContain(stored, row => Contains(row.Bytes, key));
        Assert.Contains(stored, row => row.Where.StartsWith("grain idempotency", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CreateSession_SameKeySameBody_OneSession_OtherBody_422_AnotherCaller_HasItsOwnKeys()
    {
        var t = await Scenario.TenantAsync(service);
        var modellerKey = t.ModellerKey.ApiKey;
        var request = new CreateSessionRequest("idem-1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation());
        var key = "retry-" + Guid.NewGuid();
        var first = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/sessions", modellerKey, key, request);
        service.Clock.Advance(TimeSpan.FromSeconds(1));
        var again = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/sessions", modellerKey, key, request);
        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal(first.Body, again.Body);
        Assert.Equal("true", Replayed(again.Response));

        var other = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/sessions", modellerKey, key, request with { Id = "idem-2" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.Status);
        Assert.Equal(ProblemTypes.IdempotencyKeyReused, ProblemType(other.Body));
        Assert.Equal(["idem-1"], (await t.Admin.ListSessionsAsync(t.Tenant)).Items.Select(s => s.Id));

        // The same key on another route, or from another credential, is another key.
        var cancel = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/sessions/idem-1/cancel", modellerKey, key, new CancelSessionRequest("done"));
        Assert.Equal(HttpStatusCode.OK, cancel.Status);
        var adminCancel = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/sessions/idem-1/cancel", (await t.Admin.IssueAdminKeyAsync(t.Tenant)).ApiKey, key,
            new CancelSessionRequest("done"));
        Assert.Equal(HttpStatusCode.OK, adminCancel.Status);
        Assert.Equal("", Replayed(adminCancel.Response));
    }

    [Fact]
    public async Task TwoAdminKeysOfOneTenant_WithTheSameIdempotencyKey_EachGetTheirOwnAnswer()
    {
        var t = await Scenario.TenantAsync(service);
        var firstAdmin = (await t.Admin.IssueAdminKeyAsync(t.Tenant)).ApiKey;
        var secondAdmin = (await t.Admin.IssueAdminKeyAsync(t.Tenant)).ApiKey;
        var key = "shared-" + Guid.NewGuid();
        var first = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/pods/p1/keys", firstAdmin, key);
        var second = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/pods/p1/keys", secondAdmin, key);
        var firstAgain = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/pods/p1/keys", firstAdmin, key);

        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.Created), (first.Status, second.Status));
        Assert.Equal("", Replayed(second.Response)); // the other admin key's request ran: not the first one's answer
        Assert.NotEqual(first.Body, second.Body);
        Assert.Equal(("true", first.Body), (Replayed(firstAgain.Response), firstAgain.Body)); // each key still replays its own
        Assert.Equal(3, (await t.Admin.ListPodKeysAsync(t.Tenant, "p1")).Count); // the registration's and one per admin key
    }

    [Fact]
    public async Task ARenewedLease_HoldsPastItsFirstTerm_ALapsedOneIsTakenOver_AndItsHolderCannotRenewIt()
    {
        var grain = service.Grains.GetGrain<Smpc.Grains.Interfaces.Idempotency.IIdempotencyGrain>("lease-test-" + Guid.NewGuid());
        var request = RandomNumberGenerator.GetBytes(32);
        var lease = TimeSpan.FromSeconds(60);
        var first = await grain.BeginAsync(request, lease);
        Assert.Equal(Smpc.Grains.Interfaces.Idempotency.IdempotencyOutcome.Proceed, first.Outcome);

        service.Clock.Advance(TimeSpan.FromSeconds(40));
        Assert.True(await grain.RenewAsync(first.Lease, lease));
        service.Clock.Advance(TimeSpan.FromSeconds(40)); // 80 s after it began: past the first term, within the renewed one
        Assert.Equal(Smpc.Grains.Interfaces.Idempotency.IdempotencyOutcome.InProgress, (await grain.BeginAsync(request, lease)).Outcome);
        Assert.False(await grain.RenewAsync(Guid.NewGuid(), lease)); // only the holder renews

        service.Clock.Advance(TimeSpan.FromSeconds(21)); // not renewed again: lapsed (a gateway that died)
        var takeover = await grain.BeginAsync(request, lease);
        Assert.Equal(Smpc.Grains.Interfaces.Idempotency.IdempotencyOutcome.Proceed, takeover.Outcome);
        Assert.False(await grain.RenewAsync(first.Lease, lease));
        Assert.True(await grain.CompleteAsync(takeover.Lease, [1, 2, 3]));
        Assert.False(await grain.RenewAsync(takeover.Lease, lease)); // done: nothing to renew
    }

    [Fact]
    public async Task ConcurrentDuplicates_CreateOnce_AndAllGetTheSameAnswer()
    {
        var t = await Scenario.TenantAsync(service);
        var request = new CreateSessionRequest("idem-c", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation());
        var key = Guid.NewGuid().ToString();
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/sessions", t.ModellerKey.ApiKey, key, request)));
        Assert.All(answers, a => Assert.Equal((HttpStatusCode.Created, answers[0].Body), (a.Status, a.Body)));
        Assert.Equal(5, answers.Count(a => Replayed(a.Response) == "true"));
        var session = (await t.Admin.ListSessionsAsync(t.Tenant)).Items.Single();
        Assert.Equal(1, session.Version);
    }

    [Fact]
    public async Task AHandlersRefusal_IsStoredToo_But_AMalformedKey_IsA400()
    {
        var t = await Scenario.TenantAsync(service);
        var adminKey = (await t.Admin.IssueAdminKeyAsync(t.Tenant)).ApiKey;
        var key = Guid.NewGuid().ToString();
        var missing = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/pods/later/keys", adminKey, key);
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        await t.Admin.RegisterPodAsync(t.Tenant, new RegisterPodRequest("later", "Later", Convert.ToBase64String(new byte[32])));
        var replayed = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/pods/later/keys", adminKey, key);
        Assert.Equal((HttpStatusCode.NotFound, "true"), (replayed.Status, Replayed(replayed.Response)));
        Assert.Single(await t.Admin.ListPodKeysAsync(t.Tenant, "later"));

        foreach (var bad in new[] { new string('k', 256), "", "tab\there" })
        {
            var refused = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/pods/later/keys", adminKey, bad);
            Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
            Assert.Equal(ProblemTypes.InvalidIdempotencyKey, ProblemType(refused.Body));
        }

        Assert.Single(await t.Admin.ListPodKeysAsync(t.Tenant, "later")); // a refused request changed nothing
    }

    [Fact]
    public async Task AKeyOlderThan24Hours_IsNew()
    {
        var t = await Scenario.TenantAsync(service);
        var adminKey = (await t.Admin.IssueAdminKeyAsync(t.Tenant)).ApiKey;
        var key = Guid.NewGuid().ToString();
        var first = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/admin-keys", adminKey, key);
        service.Clock.Advance(TimeSpan.FromHours(23));
        var within = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/admin-keys", adminKey, key);
        Assert.Equal((first.Body, "true"), (within.Body, Replayed(within.Response)));
        service.Clock.Advance(TimeSpan.FromHours(1));
        var after = await SendAsync(HttpMethod.Post, $"v1/tenants/{t.Tenant}/admin-keys", adminKey, key);
        Assert.Equal(HttpStatusCode.Created, after.Status);
        Assert.Equal("", Replayed(after.Response));
        Assert.NotEqual(first.Body, after.Body);
        Assert.Equal(4, (await t.Admin.ListAdminKeysAsync(t.Tenant)).Count); // the tenant's, the test's, and two issued with the key
    }

    private static bool Contains(byte[] haystack, string needle) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;

    private async Task<List<(string Where, byte[] Bytes)>> StoredAsync()
    {
        var rows = new List<(string, byte[])>();
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = service.DatabasePath, Mode = SqliteOpenMode.ReadOnly }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 'grain ' || GrainTypeString || ' ' || IFNULL(GrainIdExtensionString, ''), PayloadBinary FROM OrleansStorage WHERE PayloadBinary IS NOT NULL";
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows.Add((reader.GetString(0), (byte[])reader.GetValue(1)));
        return rows;
    }
}
