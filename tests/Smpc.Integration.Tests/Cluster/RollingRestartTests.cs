using Xunit.Abstractions;

namespace Smpc.Integration.Tests.Cluster;

/// <summary>
/// A rolling restart (SIGTERM, wait, start) of every silo while sessions are mid-flight: each session takes one step
/// between restarts, so all of them live through every restart, and every one completes with the exact mean.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RollingRestartTests(ClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task RestartingEverySiloInTurn_EverySessionCompletes()
    {
        var failures = new List<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        var drills = new List<AggregationDrill>();
        try
        {
            for (var i = 0; i < 4; i++) drills.Add(await AggregationDrill.StartAsync(fixture, pods: 3, length: 5_000, failures, cts.Token, sessionId: $"roll-{i}"));
            var silos = fixture.Cluster.Silos;
            for (var s = 0; s < AggregationDrill.Steps.Length; s++)
            {
                var (step, _) = AggregationDrill.Steps[s];
                await Task.WhenAll(drills.Select(d => d.StepAsync(d.PodIds, step, cts.Token)));
                if (s >= silos.Count) continue;
                var clock = System.Diagnostics.Stopwatch.StartNew();
                await fixture.Cluster.StopAsync(silos[s]);
                var stopped = clock.Elapsed;
                await fixture.Cluster.StartAsync(silos[s]);
                output.WriteLine($"{silos[s]}: graceful stop {stopped.TotalSeconds:F1} s, back and ready {clock.Elapsed.TotalSeconds:F1} s");
            }

            foreach (var drill in drills) await drill.AssertCompleteAndExactAsync();
            output.WriteLine($"retried failures seen by the parties: {AggregationDrill.Describe(failures)}");
            AggregationDrill.AssertOnlyRetriable(failures);
        }
        finally
        {
            foreach (var drill in drills) drill.Dispose();
        }
    }
}
