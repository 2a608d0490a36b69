using System.Net;
using Smpc.Agent;
using Smpc.Agent.Identity;
using Smpc.Agent.SecureAggregation;
using Smpc.Client;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Gateway.Tests.Audit;
using Smpc.Gateway.Tests.Federated;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Gateway.Tests.Sessions;

/// <summary>
/// A pod that declines or fails tells the session at once with a reason category: the modeller stops waiting for it, the
/// session shows why, and the service's clock never moves (a test that waited for a deadline would time out).
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class SecureAggregationDeclineTests(EmbeddedService service)
{
    private static AggregationRequest Spec() => new([new AggregationFieldRequest("x", 2, -10, 10)], "sum", "", "x", PhaseTimeoutSeconds: 3600);

    public static TheoryData<string, string> Problems() => new()
    {
        { "policy", DeclineCategories.Policy },
        { "out-of-bounds", DeclineCategories.InputOutOfBounds },
        { "nan", DeclineCategories.InputNotFinite },
        { "missing", DeclineCategories.InputMissing },
        { "wrong-length", DeclineCategories.ShapeMismatch },
    };

    private static PodAgentConfig Configure(string pod, PodAgentConfig config, string problem) => pod != "p4" ? config with { Inputs = new() { ["x"] = new PodInput { Values = [1, 2] } } } : problem switch
    {
        "policy" => config with { Inputs = new() { ["x"] = new PodInput { Values = [1, 2] } }, Policy = new SecureAggregationPolicy { Modellers = ["someone-else"] } },
        "out-of-bounds" => config with { Inputs = new() { ["x"] = new PodInput { Values = [1, 1000] } } },
        "nan" => config with { Inputs = new() { ["x"] = new PodInput { Values = [double.NaN, 2] } } },
        "wrong-length" => config with { Inputs = new() { ["x"] = new PodInput { Values = [1, 2, 3] } } },
        _ => config,
    };

    [Theory]
    [MemberData(nameof(Problems))]
    public async Task APodWhoseInputFails_Declines_AndTheModellerFinishesWithoutIt_NamingTheReason(string problem, string category)
    {
        await using var pods = await FederatedPods.StartAsync(service, ["p1", "p2", "p3", "p4"], (pod, _, config) => Configure(pod, config, problem));
        using var modeller = await ModellerAggregation.CreateAsync(pods.Modeller, pods.Tenant, "d1", "m1", ["p1", "p2", "p3", "p4"], Spec());

        // n = 4, t = 3: the three others suffice. Well within the hour-long phases: the pod's decline closed them.
        var outcome = await modeller.WaitForResultAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([1, 2, 3], outcome.IncludedParties);
        Assert.Equal([3.0, 6.0], outcome.Values["x"]);
        Assert.Equal(new LeftOutPod("p4", 4, $"declined: {category}"), Assert.Single(outcome.LeftOut));
        Assert.Equal(
            ["p1:included:", "p2:included:", "p3:included:", $"p4:declined:{category}"],
            outcome.Session.Aggregation!.Pods!.Select(p => $"{p.Pod}:{p.Status}:{p.DeclineCategory}"));
        // Only the category reaches the service: the pod's own message (which may name a field or a bound) stays in its log.
        var declined = Assert.Single(await PolicyDeclinesAsync(pods, "d1"));
        Assert.Equal(("Pod", "p4", category), (declined.Actor.Role, declined.Actor.Subject, declined.Detail));
    }

    private async Task<List<AuditEntryResponse>> PolicyDeclinesAsync(FederatedPods pods, string session)
    {
        var admin = service.Anonymous.WithKey((await service.Operator.IssueAdminKeyAsync(pods.Tenant)).ApiKey);
        return [.. (await AuditReading.AllAsync(admin, pods.Tenant, new AuditFilter(Session: session))).Where(e => e.Type == AuditEventTypes.PolicyDeclined)];
    }

    [Fact]
    public async Task Declines_ThatLeaveFewerThanThreshold_FailTheSessionAtOnce_WithTheReasons()
    {
        var t = await Scenario.TenantAsync(service);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "d2", "m1", ["p1", "p2", "p3"], Spec());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var p1 = new SecureAggregationPodDriver(t.Pods["p1"], t.Tenant, "d2", "p1", t.Identities["p1"], _ => [1, 2]).RunAsync(cts.Token);
        var waiting = modeller.WaitForResultAsync(cts.Token);

        await t.Pods["p2"].DeclineAggregationAsync(t.Tenant, "d2", DeclineCategories.InputNotFinite);

        // n = 3, t = 2 by default: p1 and p3 may still finish.
        Assert.Equal(SessionPhases.KeyExchange, (await t.Modeller.GetSessionAsync(t.Tenant, "d2")).Phase);
        await t.Pods["p3"].DeclineAggregationAsync(t.Tenant, "d2", DeclineCategories.Policy);

        var failed = await Assert.ThrowsAsync<SecureAggregationFailedException>(() => waiting);
        Assert.Equal("Only 1 of the 2 parties needed can still publish a key bundle; declined: p2 (party 2) (input-not-finite), p3 (party 3) (policy).", failed.Message);
        Assert.Equal(["p2 (party 2): declined: input-not-finite", "p3 (party 3): declined: policy"], failed.LeftOut.Where(p => p.Pod != "p1").Select(p => p.ToString()));
        Assert.Equal(SessionPhases.Failed, (await p1).Phase);
    }

    [Fact]
    public async Task ASurvivorDecliningToUnmask_StaysIncluded_AndTheModellerFinishesWithoutWaitingForIt()
    {
        var t = await Scenario.TenantAsync(service, ["p1", "p2", "p3", "p4"]);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "d4", "m1", ["p1", "p2", "p3", "p4"], Spec());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var runners = new[] { "p1", "p2", "p3", "p4" }.Select(p => new SecureAggregationPodDriver(t.Pods[p], t.Tenant, "d4", p, t.Identities[p], _ => [1, 2])
        {
            StopAfter = p == "p4" ? PodStep.MaskedInput : PodStep.None,
        }.RunAsync(cts.Token)).ToList();
        await runners[3];
        var s = await t.Modeller.GetSessionAsync(t.Tenant, "d4");
        while (s.Phase != SessionPhases.Unmasking) s = await t.Modeller.WaitForSessionChangeAsync(t.Tenant, "d4", s.Version, 5);

        await t.Pods["p4"].DeclineAggregationAsync(t.Tenant, "d4", DeclineCategories.Internal);
        var outcome = await modeller.WaitForResultAsync(cts.Token);

        // Its masked vector is in the sum, so it is included; it merely did not answer the unmask request.
        Assert.Equal([1, 2, 3, 4], outcome.IncludedParties);
        Assert.Equal([4.0, 8.0], outcome.Values["x"]);
        Assert.Empty(outcome.LeftOut);
        Assert.Equal(new AggregationPodResponse("p4", 4, PodStatuses.Included, DeclineCategories.Internal), outcome.Session.Aggregation!.Pods![3]);
        await Task.WhenAll(runners);
    }

    [Fact]
    public async Task Decline_TakesOnlyAKnownCategory_FromTheSessionsPods_OnceOnly()
    {
        var t = await Scenario.TenantWithSessionAsync(service, "d3");

        var unknown = await Assert.ThrowsAsync<SmpcApiException>(() => t.Pods["p1"].DeclineAggregationAsync(t.Tenant, "d3", "my value 42 is secret"));
        Assert.Equal((HttpStatusCode.BadRequest, ProblemTypes.Validation), (unknown.Status, unknown.Type));
        await AuditReading.RefusedAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Modeller.DeclineAggregationAsync(t.Tenant, "d3", DeclineCategories.Policy));
        await AuditReading.RefusedAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Admin.DeclineAggregationAsync(t.Tenant, "d3", DeclineCategories.Policy));

        var first = await t.Pods["p1"].DeclineAggregationAsync(t.Tenant, "d3", DeclineCategories.InputMissing);
        var again = await t.Pods["p1"].DeclineAggregationAsync(t.Tenant, "d3", DeclineCategories.InputMissing);
        Assert.Equal(first.Version, again.Version);
        await AuditReading.RefusedAsync(HttpStatusCode.Conflict, ProblemTypes.Conflict, () => t.Pods["p1"].DeclineAggregationAsync(t.Tenant, "d3", DeclineCategories.Policy));
        Assert.Equal([1], first.Aggregation!.Dropped);
        Assert.Equal(new AggregationPodResponse("p1", 1, PodStatuses.Declined, DeclineCategories.InputMissing), first.Aggregation.Pods![0]);
        // Having declined, it can no longer take part.
        var late = await Assert.ThrowsAsync<SmpcApiException>(() => t.Pods["p1"].SubmitKeyBundleAsync(t.Tenant, "d3", [1, 2, 3]));
        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.WrongPhase), (late.Status, late.Type));
    }

    [Fact]
    public async Task AnAgentWithAnotherIdentityKey_RefusesToStart_NamingBothFingerprints()
    {
        var t = await Scenario.TenantAsync(service);
        var folder = Path.Combine(Path.GetTempPath(), "smpc-id-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            using var wrong = IdentityKeyFile.Create(Path.Combine(folder, "identity.key"));
            var config = new PodAgentConfig { Tenant = t.Tenant, Pod = "p1", IdentityKeyFile = "identity.key" };
            var log = new List<string>();
            var agent = new PodAgent(config, folder, t.Pods["p1"], log.Add) { LongPollSeconds = 1 };

            var refused = await Assert.ThrowsAsync<PodIdentityMismatchException>(() => agent.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

            Assert.Equal((wrong.Fingerprint, t.Identities["p1"].Fingerprint), (refused.LocalFingerprint, refused.RegisteredFingerprint));
            Assert.Contains(wrong.Fingerprint, refused.Message, StringComparison.Ordinal);
            Assert.Contains(t.Identities["p1"].Fingerprint, refused.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(log, l => l.Contains("polling", StringComparison.Ordinal)); // it never started to take part
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
