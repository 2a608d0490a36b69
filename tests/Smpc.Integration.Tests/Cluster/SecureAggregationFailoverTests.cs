using Xunit.Abstractions;

namespace Smpc.Integration.Tests.Cluster;

/// <summary>
/// kill -9 of the silo hosting the session grain in every phase of a secure-aggregation session: two pods have taken the
/// phase's step, the host dies, the other pods take theirs while the cluster fails over. The session completes with the
/// exact mean over every pod (no accepted message lost), and the parties saw only retriable failures.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SecureAggregationFailoverTests(ClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task KillingTheSessionHost_InEveryPhase_LosesNothing_AndTheMeanIsExact()
    {
        var failures = new List<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        using var drill = await AggregationDrill.StartAsync(fixture, pods: 5, length: 20_000, failures, cts.Token);
        var recoveries = new List<string>();
        foreach (var (step, phase) in AggregationDrill.Steps)
        {
            await drill.StepAsync(drill.PodIds[..2], step, cts.Token);
            var before = await drill.ReadAsync();
            Assert.Equal(phase, before.Phase);

            var (silo, recovery) = await fixture.KillHostAndRecoverAsync("session", $"{drill.Tenant.Tenant}/{drill.SessionId}", drill.ReadAsync);
            recoveries.Add($"{phase}: killed {silo} (the session's host); the session answered again after {recovery.TotalSeconds:F1} s");

            // Nothing the service accepted before the kill is lost.
            var after = await drill.ReadAsync();
            Assert.Equal(phase, after.Phase);
            Assert.Equal(AggregationDrill.Accepted(before, phase), AggregationDrill.Accepted(after, phase));
            await drill.StepAsync(drill.PodIds[2..], step, cts.Token);
        }

        await drill.AssertCompleteAndExactAsync();
        output.WriteLine(ClusterFixture.MembershipLabel);
        foreach (var line in recoveries) output.WriteLine(line);
        output.WriteLine($"retried failures seen by the parties: {AggregationDrill.Describe(failures)}");
        AggregationDrill.AssertOnlyRetriable(failures);
    }
}
