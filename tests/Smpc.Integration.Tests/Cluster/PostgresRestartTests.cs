using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Smpc.Agent.SecureAggregation;
using Smpc.Client;
using Smpc.Client.SecureAggregation;
using Xunit.Abstractions;

namespace Smpc.Integration.Tests.Cluster;

/// <summary>
/// PostgreSQL stops mid-session: writes answer 503 with Retry-After (and readiness says so) while it is down, a refused
/// write changes nothing, and when it is back the cluster recovers by itself and the session completes exactly.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class PostgresRestartTests(ClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task WhileTheDatabaseIsDown_WritesAnswer503WithRetryAfter_ThenEverythingCompletes()
    {
        var failures = new List<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        using var drill = await AggregationDrill.StartAsync(fixture, pods: 4, length: 5_000, failures, cts.Token);
        await drill.StepAsync(drill.PodIds[..2], PodStep.KeyBundle, cts.Token);
        var before = await drill.ReadAsync();

        await fixture.Cluster.StopPostgresAsync();
        var down = System.Diagnostics.Stopwatch.StartNew();
        Task? late = null;
        try
        {
            using var raw = new HttpClient { BaseAddress = fixture.Cluster.GatewayUrls[0], Timeout = TimeSpan.FromSeconds(60) };

            // Readiness reports the outage.
            using (var ready = await raw.GetAsync("health/ready"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                Assert.NotNull(ready.Headers.RetryAfter);
            }

            // A write that needs the database: a new tenant (its grain must load and store state).
            using (var create = new HttpRequestMessage(HttpMethod.Post, "v1/tenants") { Content = JsonBody(new { id = "pg-down-" + Guid.NewGuid().ToString("N")[..6], displayName = "x" }) })
            {
                create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Cluster.OperatorKey);
                using var refused = await raw.SendAsync(create);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.NotNull(refused.Headers.RetryAfter);
                Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
                using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
                Assert.EndsWith("unavailable", problem.RootElement.GetProperty("type").GetString(), StringComparison.Ordinal);
            }

            // The third pod's key bundle arrives during the outage: its client retries until the database is back.
            // Seen, not slept on: the pod's client was refused and retried while the database was down.
            int Retries() { lock (failures) return failures.Count; }
            var retriedBefore = Retries();
            late = drill.StepAsync([drill.PodIds[2]], PodStep.KeyBundle, cts.Token);
            while (Retries() == retriedBefore && !late.IsCompleted) await Task.Delay(50, cts.Token);
            Assert.False(late.IsCompleted, "a key bundle cannot be stored while the database is down");
        }
        finally
        {
            await fixture.Cluster.StartPostgresAsync();
        }

        output.WriteLine($"database down for {down.Elapsed.TotalSeconds:F1} s");
        var recovering = System.Diagnostics.Stopwatch.StartNew();
        await late!.WaitAsync(TimeSpan.FromMinutes(2));
        output.WriteLine($"the waiting key bundle was stored {recovering.Elapsed.TotalSeconds:F1} s after the database came back; retried so far: {AggregationDrill.Describe(failures)}");

        var after = await drill.ReadAsync();
        Assert.Equal(before.Aggregation!.KeyBundles.Append(3).Order(), after.Aggregation!.KeyBundles.Order());
        await drill.StepAsync([drill.PodIds[3]], PodStep.KeyBundle, cts.Token);
        foreach (var (step, _) in AggregationDrill.Steps.Skip(1)) await drill.StepAsync(drill.PodIds, step, cts.Token);
        await drill.AssertCompleteAndExactAsync();

        // Every process reports ready again by itself, without a restart.
        foreach (var name in fixture.Cluster.Silos.Concat(fixture.Cluster.Gateways))
        {
            // The probe retries as the service asks (503 with Retry-After), for at most 30 s.
            using var probe = new HttpClient(new TransientRetryHandler { MaxElapsed = TimeSpan.FromSeconds(30) })
            { BaseAddress = fixture.Cluster.UrlOf(name), Timeout = TimeSpan.FromSeconds(60) };
            var status = (await probe.GetAsync("health/ready")).StatusCode;
            Assert.True(status == HttpStatusCode.OK, $"{name} is not ready 30 s after the database came back:\n{Tail(fixture.Cluster.LogOf(name))}");
        }

        Assert.True(fixture.Cluster.PidOf(fixture.Cluster.Silos[0]) is not null, "no process was restarted or lost");

        output.WriteLine($"retried failures seen by the parties: {AggregationDrill.Describe(failures)}");
        AggregationDrill.AssertOnlyRetriable(failures);
    }

    private static string Tail(string log) => log.Length > 4000 ? log[^4000..] : log;

    private static StringContent JsonBody(object value) =>
        new(JsonSerializer.Serialize(value), System.Text.Encoding.UTF8, "application/json");
}
