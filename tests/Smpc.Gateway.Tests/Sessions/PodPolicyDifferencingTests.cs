using Smpc.Agent;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Gateway.Tests.Federated;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Gateway.Tests.Sessions;

/// <summary>
/// A deviating modeller differencing sums: after a session over {p1, p2, p3}, one over {p1, p2, p4} would give x3 − x4, and
/// with {p1, p3, p4} and {p2, p3, p4} every input. The real pod agents refuse it with the policy category.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class PodPolicyDifferencingTests(EmbeddedService service)
{
    private static AggregationRequest Spec() => new([new AggregationFieldRequest("x", 1, -100, 100)], "sum", "", "x", PhaseTimeoutSeconds: 3600);

    [Fact]
    public async Task TheFourSessionDifferencingAttack_GetsOneSum_EveryLaterSessionFailsOnPolicyDeclines()
    {
        var values = new Dictionary<string, double> { ["p1"] = 11, ["p2"] = 22, ["p3"] = 33, ["p4"] = 44 };
        await using var pods = await FederatedPods.StartAsync(service, ["p1", "p2", "p3", "p4"],
            (pod, _, config) => config with { Inputs = new() { ["x"] = new PodInput { Value = values[pod] } } });

        using (var first = await ModellerAggregation.CreateAsync(pods.Modeller, pods.Tenant, "a1", "m1", ["p1", "p2", "p3"], Spec()))
        {
            var outcome = await first.WaitForResultAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(new[] { 66.0 }, outcome.Values["x"]);
        }

        string[][] later = [["p1", "p2", "p4"], ["p1", "p3", "p4"], ["p2", "p3", "p4"]];
        for (var i = 0; i < later.Length; i++)
        {
            using var attack = await ModellerAggregation.CreateAsync(pods.Modeller, pods.Tenant, $"a{i + 2}", "m1", later[i], Spec());
            var failed = await Assert.ThrowsAsync<SecureAggregationFailedException>(() => attack.WaitForResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));

            // The pods that were in a1 refuse (two of three, so fewer than t = 2 remain). p4 may refuse too if it has not yet
            // seen the previous attempt fail (it forgets a session whose masked input never left it once it sees it end).
            var refusing = later[i].Where(p => p != "p4").ToList();
            var declined = failed.Session.Aggregation!.Pods!.Where(p => p.Status == PodStatuses.Declined).ToList();
            Assert.Subset(declined.Select(p => p.Pod).ToHashSet(), refusing.ToHashSet());
            Assert.All(declined, p => Assert.Equal(DeclineCategories.Policy, p.DeclineCategory));
            foreach (var pod in refusing)
                Assert.Contains(pods.Log, l => l.StartsWith($"{pod}: session a{i + 2}: declined (differencing guard: its pod set differs from that of session a1", StringComparison.Ordinal));
        }

        // The ledgers of a1's pods hold a1 only: refused sessions are not recorded.
        foreach (var pod in new[] { "p1", "p2", "p3" })
        {
            var ledger = new Smpc.Agent.SecureAggregation.DifferencingLedger(Path.Combine(pods.PodFolder(pod), "state", "differencing-ledger.json"));
            Assert.Equal(["a1"], ledger.Sessions(PodAgent.InputLedgerKey("x")).Select(s => s.Session));
        }
    }
}
