using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Smpc.Contracts;
using Xunit.Abstractions;

namespace Smpc.Integration.Tests.Cluster;

/// <summary>
/// Idempotency-Key across two gateway processes over one cluster (PostgreSQL): concurrent duplicates sent through both
/// gateways run the request once, and every caller gets the same answer.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class IdempotencyClusterTests(ClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task ConcurrentDuplicatesThroughTwoGateways_CreateOnce_AndAllGetTheSameAnswer()
    {
        Assert.True(fixture.Cluster.GatewayUrls.Count >= 2, "the local cluster runs two gateways");
        var t = await fixture.TenantAsync("idem", 3);
        var adminKey = (await t.Admin.IssueAdminKeyAsync(t.Tenant)).ApiKey;
        var modellerKey = t.Modeller.ApiKey!;
        var gateways = fixture.Cluster.GatewayUrls.Take(2).Select(u => new HttpClient { BaseAddress = u, Timeout = TimeSpan.FromMinutes(1) }).ToArray();
        try
        {
            async Task<(HttpStatusCode Status, string Body, bool Replayed)> Send(HttpClient http, string path, string apiKey, string key, object? body)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, path);
                request.Headers.Authorization = new("Bearer", apiKey);
                request.Headers.Add("Idempotency-Key", key);
                if (body is not null) request.Content = JsonContent.Create(body, body.GetType(), options: new JsonSerializerOptions(JsonSerializerDefaults.Web));
                using var response = await http.SendAsync(request);
                return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.Contains("Idempotency-Replayed"));
            }

            // A session: four duplicates through each gateway at once.
            var create = new CreateSessionRequest("idem-1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"],
                new AggregationRequest([new AggregationFieldRequest("x", 3, -10, 10)], "mean", Convert.ToBase64String(new byte[32]), "x"));
            var sessionKey = Guid.NewGuid().ToString();
            var sessions = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Send(gateways[i % 2], $"v1/tenants/{t.Tenant}/sessions", modellerKey, sessionKey, create)));
            output.WriteLine(string.Join("\n", sessions.Select(s => $"{(int)s.Status} replayed={s.Replayed}")));
            Assert.All(sessions, s => Assert.Equal((HttpStatusCode.Created, sessions[0].Body), (s.Status, s.Body)));
            Assert.Equal(7, sessions.Count(s => s.Replayed));
            var listed = await t.Admin.ListSessionsAsync(t.Tenant);
            Assert.Equal(("idem-1", 1), (listed.Items.Single().Id, listed.Items.Single().Version));

            // A key: duplicates through both gateways issue one key, and every caller receives that key.
            var podKey = Guid.NewGuid().ToString();
            var issued = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Send(gateways[i % 2], $"v1/tenants/{t.Tenant}/pods/p1/keys", adminKey, podKey, null)));
            Assert.All(issued, s => Assert.Equal((HttpStatusCode.Created, issued[0].Body), (s.Status, s.Body)));
            var key = JsonSerializer.Deserialize<IssuedKeyResponse>(issued[0].Body, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
            var keys = await t.Admin.ListPodKeysAsync(t.Tenant, "p1");
            Assert.Equal(2, keys.Count); // the registration's and this one
            Assert.Equal(key.KeyId, keys[^1].KeyId);
            Assert.Equal("Pod", (await fixture.Client(key.ApiKey).WhoAmIAsync()).Role);

            // The same key with another body, through the other gateway: 422.
            var reused = await Send(gateways[1], $"v1/tenants/{t.Tenant}/sessions", modellerKey, sessionKey, create with { Id = "idem-2" });
            Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.Status);
            Assert.Contains(ProblemTypes.IdempotencyKeyReused, reused.Body, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var g in gateways) g.Dispose();
        }
    }
}
