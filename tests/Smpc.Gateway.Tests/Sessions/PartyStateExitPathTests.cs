using Smpc.Agent;
using Smpc.Agent.SecureAggregation;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Gateway.Tests.Federated;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Gateway.Tests.Sessions;

/// <summary>
/// The party state (session private keys, the self-mask seed, shares held for peers) is wiped and deleted on every way out of
/// a session: completed, failed, cancelled, an exception in the pod, declined by policy. No test waits for a deadline.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class PartyStateExitPathTests(EmbeddedService service) : IDisposable
{
    private static AggregationRequest Spec() => new([new AggregationFieldRequest("x", 2, -10, 10)], "sum", "", "x", PhaseTimeoutSeconds: 3600);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "smpc-exit-" + Guid.NewGuid().ToString("N")[..8]);

    private PartyStateFile StateOf(string pod, string session) => new(Path.Combine(_root, pod, session + ".party"));

    [Fact]
    public async Task Completed_EveryPodsStateIsGone_AndItsInputLeft()
    {
        var t = await Scenario.TenantAsync(service);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "e1", "m1", ["p1", "p2", "p3"], Spec());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var drivers = new[] { "p1", "p2", "p3" }.Select(p => new SecureAggregationPodDriver(t.Pods[p], t.Tenant, "e1", p, t.Identities[p], _ => [1, 2])
        {
            StateFile = StateOf(p, "e1"),
        }).ToList();
        var running = drivers.Select(d => d.RunAsync(cts.Token)).ToList();

        var outcome = await modeller.WaitForResultAsync(cts.Token);
        await Task.WhenAll(running);

        Assert.Equal([3.0, 6.0], outcome.Values["x"]);
        Assert.All(drivers, d => Assert.True(d.InputSent));
        Assert.All(new[] { "p1", "p2", "p3" }, p => Assert.False(File.Exists(StateOf(p, "e1").Path)));
    }

    [Theory]
    [InlineData("failed")]
    [InlineData("cancelled")]
    public async Task FailedOrCancelled_AfterThePodSavedItsKeys_ItsStateIsGone(string how)
    {
        var t = await Scenario.TenantAsync(service);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "e2", "m1", ["p1", "p2", "p3"], Spec());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var state = StateOf("p1", "e2");
        var p1 = new SecureAggregationPodDriver(t.Pods["p1"], t.Tenant, "e2", "p1", t.Identities["p1"], _ => [1, 2]) { StateFile = state };
        var running = p1.RunAsync(cts.Token);
        var s = await t.Modeller.GetSessionAsync(t.Tenant, "e2");
        while (!s.Aggregation!.KeyBundles.Contains(1)) s = await t.Modeller.WaitForSessionChangeAsync(t.Tenant, "e2", s.Version, 5, cts.Token);
        Assert.True(File.Exists(state.Path), "the pod keeps its session keys while the session runs");

        if (how == "failed")
        {
            await t.Pods["p2"].DeclineAggregationAsync(t.Tenant, "e2", DeclineCategories.Policy, cts.Token);
            await t.Pods["p3"].DeclineAggregationAsync(t.Tenant, "e2", DeclineCategories.Policy, cts.Token);
        }
        else
        {
            await t.Modeller.CancelSessionAsync(t.Tenant, "e2", "changed my mind", cts.Token);
        }

        var final = await running;

        Assert.Equal(how == "failed" ? SessionPhases.Failed : SessionPhases.Cancelled, final.Phase);
        Assert.False(File.Exists(state.Path));
        Assert.False(p1.InputSent);
    }

    [Fact]
    public async Task AnExceptionInThePod_AfterItsSharesWentOut_WipesItsState_AndIsRethrown()
    {
        var t = await Scenario.TenantAsync(service);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "e3", "m1", ["p1", "p2", "p3"], Spec());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var failing = new SecureAggregationPodDriver(t.Pods["p1"], t.Tenant, "e3", "p1", t.Identities["p1"], _ => throw new IOException("the input file went away"))
        {
            StateFile = StateOf("p1", "e3"),
        };
        var others = new[] { "p2", "p3" }.Select(p => new SecureAggregationPodDriver(t.Pods[p], t.Tenant, "e3", p, t.Identities[p], _ => [1, 2])
        {
            StateFile = StateOf(p, "e3"),
        }.RunAsync(cts.Token)).ToList();

        // The input is read only for the masked vector, so the pod has saved keys, seed and held shares by then.
        var thrown = await Assert.ThrowsAsync<IOException>(() => failing.RunAsync(cts.Token));
        await t.Pods["p1"].DeclineAggregationAsync(t.Tenant, "e3", DeclineCategories.Internal, cts.Token); // what the agent does next
        var outcome = await modeller.WaitForResultAsync(cts.Token);
        await Task.WhenAll(others);

        Assert.Equal("the input file went away", thrown.Message);
        Assert.False(failing.InputSent);
        Assert.False(File.Exists(StateOf("p1", "e3").Path));
        Assert.Equal([2, 3], outcome.IncludedParties);
        Assert.All(new[] { "p2", "p3" }, p => Assert.False(File.Exists(StateOf(p, "e3").Path)));
    }

    [Fact]
    public async Task APodAgent_RefusingASessionItHadStateFor_WipesThatState()
    {
        // A state file for session e4 is there (as if the agent had joined before a restart); the pod's policy now refuses the
        // modeller. Four pods, so that the three others still make the minimum group of three.
        await using var pods = await FederatedPods.StartAsync(service, ["p1", "p2", "p3", "p4"], (pod, folder, config) =>
        {
            if (pod == "p4")
            {
                new PartyStateFile(Path.Combine(folder, "state", "e4.party")).Save([1, 2, 3, 4]);
                config = config with { Policy = new SecureAggregationPolicy { Modellers = ["someone-else"] } };
            }

            return config with { Inputs = new() { ["x"] = new PodInput { Values = [1, 2] } } };
        });
        using var modeller = await ModellerAggregation.CreateAsync(pods.Modeller, pods.Tenant, "e4", "m1", ["p1", "p2", "p3", "p4"], Spec());

        var outcome = await modeller.WaitForResultAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal([1, 2, 3], outcome.IncludedParties);
        Assert.Equal(new LeftOutPod("p4", 4, $"declined: {DeclineCategories.Policy}"), Assert.Single(outcome.LeftOut));
        Assert.False(File.Exists(Path.Combine(pods.PodFolder("p4"), "state", "e4.party")));
        Assert.Contains(pods.Log, l => l.StartsWith("p4: session e4: declined (modeller m1 is not allowed)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task APodAgent_WhoseSumWouldHoldTooFewInputs_RefusesTheUnmaskRequest_AndWipesItsState()
    {
        // n = 3, t = 2: p3 declines, so the sum would be over p1 and p2 alone, and each of them could read the other's input
        // from it. Below the minimum group of three, they refuse to answer the unmask request.
        await using var pods = await FederatedPods.StartAsync(service, ["p1", "p2", "p3"], (pod, _, config) => config with
        {
            Inputs = new() { ["x"] = new PodInput { Values = [1, 2] } },
            Policy = pod == "p3" ? new SecureAggregationPolicy { Modellers = ["someone-else"] } : new SecureAggregationPolicy(),
        });
        using var modeller = await ModellerAggregation.CreateAsync(pods.Modeller, pods.Tenant, "e5", "m1", ["p1", "p2", "p3"], Spec());

        var failed = await Assert.ThrowsAsync<SecureAggregationFailedException>(() => modeller.WaitForResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Contains("can still answer the unmask request", failed.Message, StringComparison.Ordinal);
        Assert.Contains(failed.Session.Aggregation!.Pods!, p => p.Pod is "p1" or "p2" && p.DeclineCategory == DeclineCategories.Policy);
        foreach (var pod in new[] { "p1", "p2" }) Assert.False(File.Exists(Path.Combine(pods.PodFolder(pod), "state", "e5.party")));
        Assert.Contains(pods.Log, l => l.Contains("session e5: stopped (policy): differencing guard: the sum would hold 2 pods' inputs", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
