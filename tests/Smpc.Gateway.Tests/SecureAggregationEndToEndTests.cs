using System.Diagnostics;
using System.Net;
using Smpc.Agent;
using Smpc.Agent.SecureAggregation;
using Smpc.Client;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Gateway.Tests.Federated;

namespace Smpc.Gateway.Tests;

/// <summary>
/// Secure aggregation through the real gateway and grains: pods and the modeller run their sides in this process, over
/// HTTP, exactly as separate machines would. Deadlines pass when the test advances the service's clock.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class SecureAggregationEndToEndTests(EmbeddedService service)
{
    private const int PhaseTimeoutSeconds = 60;

    /// <summary>What a pod does: run fully, drop after a step, or never start.</summary>
    private sealed record Plan(PodStep StopAfter = PodStep.None, bool NeverStarts = false)
    {
        public static readonly Plan Full = new();
        public static readonly Plan Absent = new(NeverStarts: true);

        public bool Acts(string phase) => !NeverStarts && phase switch
        {
            SessionPhases.KeyExchange => true,
            SessionPhases.ShareExchange => StopAfter != PodStep.KeyBundle,
            SessionPhases.MaskedInput => StopAfter is PodStep.None or PodStep.MaskedInput,
            SessionPhases.Unmasking => StopAfter == PodStep.None,
            _ => false,
        };
    }

    private static double[] InputOf(int party, int length) => [.. Enumerable.Range(0, length).Select(k => Math.Round(((party * 7.3) - (k * 1.9)) % 50, 4))];

    private async Task<(AggregationOutcome? Outcome, SessionResponse Final, Dictionary<int, double[]> Inputs, TenantClients Tenant)> RunAsync(
        int podCount, AggregationRequest spec, Func<int, Plan>? plans = null, Func<int, double[]>? inputs = null, Func<int, double>? weights = null)
    {
        plans ??= _ => Plan.Full;
        var pods = Enumerable.Range(1, podCount).Select(i => $"p{i}").ToArray();
        var t = await Scenario.TenantAsync(service, pods);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "agg", "m1", pods, spec with { PhaseTimeoutSeconds = PhaseTimeoutSeconds });
        var values = Enumerable.Range(1, podCount).ToDictionary(p => p, p => inputs?.Invoke(p) ?? InputOf(p, spec.Fields.Sum(f => f.Length)));
        Func<SessionResponse, double>? WeightOf(int p) => weights is null ? null : _ => weights(p);

        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var podTasks = Enumerable.Range(1, podCount).Where(p => !plans(p).NeverStarts).Select(p =>
            new SecureAggregationPodDriver(t.Pods[$"p{p}"], t.Tenant, "agg", $"p{p}", t.Identities[$"p{p}"], _ => values[p])
            {
                PollInterval = TimeSpan.FromMilliseconds(20),
                StopAfter = plans(p).StopAfter,
                Weight = WeightOf(p),
            }.RunAsync(cts.Token)).ToList();
        var clockDriver = DriveDeadlinesAsync(t.Modeller, t.Tenant, podCount, plans, cts.Token);

        AggregationOutcome? outcome = null;
        try
        {
            outcome = await modeller.WaitForResultAsync(cts.Token);
        }
        catch (SecureAggregationFailedException)
        {
        }

        await Task.WhenAll(podTasks);
        await cts.CancelAsync();
        await clockDriver;
        return (outcome, await t.Modeller.GetSessionAsync(t.Tenant, "agg"), values, t);
    }

    /// <summary>When every pod that will act in the current phase has acted and someone is missing, move the clock past the deadline.</summary>
    private async Task DriveDeadlinesAsync(SmpcClient modeller, string tenant, int podCount, Func<int, Plan> plans, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var s = await modeller.GetSessionAsync(tenant, "agg", ct);
                var a = s.Aggregation!;
                var (acted, participants) = s.Phase switch
                {
                    SessionPhases.KeyExchange => (a.KeyBundles, Enumerable.Range(1, podCount).ToList()),
                    SessionPhases.ShareExchange => (a.ShareSenders, a.KeyBundles),
                    SessionPhases.MaskedInput => (a.MaskedInputs, a.ShareSenders),
                    SessionPhases.Unmasking => (a.UnmaskResponses, a.MaskedInputs),
                    _ => (null, null),
                };
                if (s.Phase is SessionPhases.Completed or SessionPhases.Failed) return;
                if (acted is not null && participants is not null && a.PhaseDeadline is not null)
                {
                    var expected = participants.Count(p => plans(p).Acts(s.Phase));
                    if (acted.Count >= expected && acted.Count < participants.Count) service.Clock.Advance(TimeSpan.FromSeconds(PhaseTimeoutSeconds + 1));
                }

                await Task.Delay(20, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static AggregationRequest Mean(int length) => new([new AggregationFieldRequest("w", length, -100, 100)], "mean", "", "weights");

    private static void AssertMean(AggregationOutcome outcome, Dictionary<int, double[]> inputs, IEnumerable<int> included)
    {
        var parties = included.ToList();
        Assert.Equal(parties, outcome.IncludedParties);
        var expected = Enumerable.Range(0, inputs[1].Length).Select(k => parties.Average(p => inputs[p][k])).ToArray();
        Assert.Equal(expected.Length, outcome.Values["w"].Length);
        for (var k = 0; k < expected.Length; k++) Assert.Equal(expected[k], outcome.Values["w"][k], 1e-9);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(10)]
    public async Task Mean_OfAllPods_EqualsThePlainMean(int pods)
    {
        var (outcome, final, inputs, _) = await RunAsync(pods, Mean(5));

        Assert.NotNull(outcome);
        AssertMean(outcome!, inputs, Enumerable.Range(1, pods));
        Assert.Equal(SessionPhases.Completed, final.Phase);
        Assert.Equal(Enumerable.Range(1, pods), final.Aggregation!.Included!);
    }

    [Fact]
    public async Task IntegerSum_IsExact()
    {
        var spec = new AggregationRequest([new AggregationFieldRequest("count", 4, 0, 1_000_000_000, Precision: 1)], "sum", "", "counts");
        var (outcome, _, inputs, _) = await RunAsync(4, spec, inputs: p => [p * 123_456_789, 1, 0, 999_999_999]);

        Assert.Equal([4 * 5 / 2 * 123_456_789L, 4, 0, 4 * 999_999_999L], outcome!.Raw.SumInteger("count"));
        _ = inputs;
    }

    private const int WeightedLength = 100_000;
    private const long XPrecision = 1_000_000;

    // x_{p,k} with six decimals in [−1000, 1000], as an exact decimal; pods get it as a double (which rounds back to it at 10^6).
    private static decimal X(int pod, int k) => ((((pod * 7_919L) + (k * 104_729L)) % 2_000_000_001L) - 1_000_000_000L) / 1_000_000m;

    private static readonly decimal[] Weights = [1_520.25m, 3.5m, 99_999.99m, 1m, 42m];

    private static AggregationRequest WeightedMean() => new(
        [new AggregationFieldRequest("x", WeightedLength, -1_000, 1_000, XPrecision)], "weighted-mean", "", "readings",
        Weight: new AggregationWeightRequest(0.01, 1_000_000, 100));

    [Fact]
    public async Task WeightedMean_OfPodsWith100kValuesAndTheirOwnWeights_EqualsTheExactDecimalAnswerWithinThePrecision()
    {
        // Five pods, each with 100 000 plain values and its own weight; pod 5 never starts, so the result is over pods 1–4.
        var (outcome, final, _, _) = await RunAsync(5, WeightedMean(), p => p == 5 ? Plan.Absent : Plan.Full,
            inputs: p => [.. Enumerable.Range(0, WeightedLength).Select(k => (double)X(p, k))], weights: p => (double)Weights[p - 1]);

        Assert.NotNull(outcome);
        int[] included = [1, 2, 3, 4];
        Assert.Equal(included, outcome!.IncludedParties);
        Assert.Equal(["p1", "p2", "p3", "p4"], outcome.IncludedPods);
        Assert.Equal(included, final.Aggregation!.Included!);
        var weightSum = included.Sum(p => Weights[p - 1]);
        Assert.Equal(weightSum, outcome.WeightSum);

        var got = outcome.Values["x"];
        var exact = outcome.Weighted!.Means["x"];
        Assert.Equal(WeightedLength, got.Length);
        var worst = 0m;
        for (var k = 0; k < WeightedLength; k++)
        {
            var expected = included.Sum(p => Weights[p - 1] * X(p, k)) / weightSum;
            worst = Math.Max(worst, Math.Abs(exact[k] - expected));
            Assert.True(Math.Abs((decimal)got[k] - expected) <= 1m / XPrecision, $"element {k}: {got[k]} vs {expected}");
        }

        Assert.True(worst < 1e-18m, $"the decimal means are exact to 28 digits; worst error {worst}");
    }

    [Fact]
    public async Task WeightedMean_ThroughTheRealPodAgents_UsesEachPodsConfiguredWeight_AndAnOldShapedPodDeclinesWithHowTo()
    {
        // Pods 1–3 hold 100 000 plain values in an .npy file; p1 and p3 configure their weight, p2 counts its samples.csv rows.
        // p4 still has the old shape (its weight appended to x, no weight configured): its agent declines and says how.
        decimal[] weights = [1_520.25m, 7m, 99_999.99m];
        var pods = await FederatedPods.StartAsync(service, ["p1", "p2", "p3", "p4"], (pod, folder, config) =>
        {
            var p = pod[1] - '0';
            var x = Enumerable.Range(0, WeightedLength).Select(k => (double)X(p, k)).ToArray();
            if (p == 4)
            {
                File.WriteAllBytes(Path.Combine(folder, "x.npy"), InputLoader.ToNpy([.. x, 12]));
                return config with { Inputs = new() { ["readings"] = new PodInput { File = "x.npy" } } };
            }

            File.WriteAllBytes(Path.Combine(folder, "x.npy"), InputLoader.ToNpy(x));
            File.WriteAllLines(Path.Combine(folder, "samples.csv"), ["id,age", .. Enumerable.Range(0, 7).Select(i => $"{i},{30 + i}")]);
            var input = p == 2 ? new PodInput { File = "x.npy", WeightRowsOf = "samples.csv" } : new PodInput { File = "x.npy", Weight = (double)weights[p - 1] };
            return config with { Inputs = new() { ["readings"] = input } };
        });
        await using var _ = pods;

        using var modeller = await ModellerAggregation.CreateAsync(pods.Modeller, pods.Tenant, "agents-w", "m1", ["p1", "p2", "p3", "p4"],
            WeightedMean() with { PhaseTimeoutSeconds = PhaseTimeoutSeconds });
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var result = modeller.WaitForResultAsync(cts.Token);
        while ((await pods.Modeller.GetSessionAsync(pods.Tenant, "agents-w", cts.Token)).Aggregation!.KeyBundles.Count < 3) await Task.Delay(20, cts.Token);
        // p4 declines (shape-mismatch) and tells the session, which closes the key exchange with the other three at once.
        while (!pods.Log.Any(l => l.StartsWith("p4: session agents-w: declined", StringComparison.Ordinal))) await Task.Delay(20, cts.Token);
        var outcome = await result;

        Assert.Equal(["p1", "p2", "p3"], outcome.IncludedPods);
        var weightSum = weights.Sum();
        Assert.Equal(weightSum, outcome.WeightSum);
        for (var k = 0; k < WeightedLength; k += 997)
        {
            var expected = Enumerable.Range(1, 3).Sum(p => weights[p - 1] * X(p, k)) / weightSum;
            Assert.True(Math.Abs((decimal)outcome.Values["x"][k] - expected) <= 1m / XPrecision, $"element {k}");
        }

        var declined = pods.Log.Single(l => l.StartsWith("p4: session agents-w: declined", StringComparison.Ordinal));
        Assert.Contains("has 100001 values, the session expects 100000; for a weighted mean give x alone and the weight as inputs.readings.weight", declined, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WeightedMean_AskedTheOldWay_IsRefusedWithHowToAskNow()
    {
        var t = await Scenario.TenantAsync(service);
        async Task<SmpcApiException> RefusedAsync(AggregationRequest spec, string id) =>
            await Assert.ThrowsAsync<SmpcApiException>(() => ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, id, "m1", ["p1", "p2", "p3"], spec));

        // The old contract: x pre-multiplied by w in one field and w in another, named by weightField.
        var old = await RefusedAsync(new AggregationRequest(
            [new AggregationFieldRequest("theta", 2, -1e6, 1e6), new AggregationFieldRequest("n", 1, 0, 1e6)], "weighted-mean", "", "update", WeightField: "n"), "old");
        Assert.Equal(HttpStatusCode.BadRequest, old.Status);
        Assert.Contains("weightField is no longer accepted", old.Detail, StringComparison.Ordinal);
        Assert.Contains("\"weight\": {\"min\": 1", old.Detail, StringComparison.Ordinal);
        Assert.Contains("--weight", old.Detail, StringComparison.Ordinal);
        Assert.Contains("do not pre-multiply", old.Detail, StringComparison.Ordinal);

        var missing = await RefusedAsync(new AggregationRequest([new AggregationFieldRequest("theta", 2, -1, 1, 1_000_000)], "weighted-mean", "", "update"), "missing");
        Assert.Contains("weighted-mean needs 'weight'", missing.Detail, StringComparison.Ordinal);
        Assert.Contains("do not pre-multiply", missing.Detail, StringComparison.Ordinal);

        var reserved = await RefusedAsync(WeightedMean() with { Fields = [new AggregationFieldRequest("x", 2, -1, 1, 100), new AggregationFieldRequest("weight", 1, 0, 100, 1)] }, "reserved");
        Assert.Contains("'weight' is reserved", reserved.Detail, StringComparison.Ordinal);

        // A shape whose w·x cannot fit the field: default precision 10^10 on x with weights up to 10^6.
        var tooWide = await RefusedAsync(WeightedMean() with { Fields = [new AggregationFieldRequest("x", 2, -100, 100)] }, "wide");
        Assert.Contains("w·x", tooWide.Detail, StringComparison.Ordinal);
        Assert.Contains("lower the field's precision or bounds, or the weight's maximum or precision", tooWide.Detail, StringComparison.Ordinal);

        var notWeighted = await RefusedAsync(Mean(2) with { Weight = new AggregationWeightRequest(1, 10) }, "mean-with-weight");
        Assert.Contains("only to operation weighted-mean", notWeighted.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WeightedMean_PodAgent_RefusesXWithTheWeightAppendedOrABadWeight_AndTakesItsWeightFromItsConfigOrRowCount()
    {
        var t = await Scenario.TenantAsync(service);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "agent-w", "m1", ["p1", "p2", "p3"],
            new AggregationRequest([new AggregationFieldRequest("x", 2, -10, 10, 1_000)], "weighted-mean", "", "readings", Weight: new AggregationWeightRequest(1, 1_000)));
        var session = modeller.Session;
        var folder = Directory.CreateTempSubdirectory("smpc-weighted-").FullName;
        try
        {
            File.WriteAllLines(Path.Combine(folder, "samples.csv"), ["age,los", "31,4", "58,2", "44,7"]);
            string? Refuse(PodInput input, out double[]? x, out double? w) =>
                new PodAgent(new PodAgentConfig { Tenant = t.Tenant, Pod = "p1", Inputs = { ["readings"] = input } }, folder, t.Pods["p1"], _ => { })
                    .Refuse(session, out x, out w);

            // The old shape: x with the weight appended and no weight configured.
            var oldShape = Refuse(new PodInput { Values = [2.5, -1, 30] }, out _, out _);
            Assert.Contains("has 3 values, the session expects 2", oldShape, StringComparison.Ordinal);
            Assert.Contains("inputs.readings.weight", oldShape, StringComparison.Ordinal);

            var noWeight = Refuse(new PodInput { Values = [2.5, -1] }, out _, out _);
            Assert.Contains("needs this pod's weight", noWeight, StringComparison.Ordinal);

            Assert.Contains("the weight is outside its declared bounds [1, 1000]", Refuse(new PodInput { Values = [2.5, -1], Weight = 5_000 }, out _, out _), StringComparison.Ordinal);
            Assert.Contains("field 'x': a value is outside its declared bounds", Refuse(new PodInput { Values = [25, -1], Weight = 5 }, out _, out _), StringComparison.Ordinal);
            Assert.Contains("not a finite number", Refuse(new PodInput { Values = [double.NaN, -1], Weight = 5 }, out _, out _), StringComparison.Ordinal);

            Assert.Null(Refuse(new PodInput { Values = [2.5, -1], Weight = 30 }, out var x, out var w));
            Assert.Equal([2.5, -1], x!);
            Assert.Equal(30, w);
            Assert.Null(Refuse(new PodInput { Values = [2.5, -1], WeightRowsOf = "samples.csv" }, out _, out var rows));
            Assert.Equal(3, rows);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task ARun_IsOneTrace_FromEveryPartysStepsThroughTheGatewayIntoTheGrains()
    {
        var (_, final, _, _) = await RunAsync(3, Mean(2));

        var traceId = ActivityContext.Parse(final.TraceParent!, null).TraceId;
        var spans = service.SnapshotSpans().Where(a => a.TraceId == traceId).ToList();
        int Count(string name) => spans.Count(a => a.OperationName == name);
        foreach (var podStep in new[] { "secagg.keys.publish", "secagg.shares.send", "secagg.shares.receive", "secagg.masked.submit", "secagg.unmask.respond" })
            Assert.True(Count(podStep) == 3, $"{podStep}: {Count(podStep)}");
        foreach (var grainStep in new[] { "secagg.keys.accept", "secagg.shares.accept", "secagg.masked.accept", "secagg.unmask.accept" })
            Assert.True(Count(grainStep) == 3, $"{grainStep}: {Count(grainStep)}");
        foreach (var once in new[] { "session.create", "secagg.sum", "secagg.survivors", "secagg.unmask", "secagg.result" })
            Assert.True(Count(once) == 1, $"{once}: {Count(once)}");

        // Each grain step descends, through the HTTP client, the gateway and the grain call, from the pod step that sent it.
        var byId = spans.ToDictionary(a => a.SpanId);
        foreach (var accept in spans.Where(a => a.OperationName == "secagg.keys.accept"))
        {
            var ancestors = new List<string>();
            for (var a = byId.GetValueOrDefault(accept.ParentSpanId); a is not null; a = byId.GetValueOrDefault(a.ParentSpanId)) ancestors.Add($"{a.Source.Name}:{a.OperationName}");
            Assert.Contains("Smpc.Client:secagg.keys.publish", ancestors);
            Assert.Contains(ancestors, a => a.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
            Assert.Contains(ancestors, a => a.StartsWith("Microsoft.Orleans", StringComparison.Ordinal));
        }
    }

    public static TheoryData<string, int> Dropouts() => new()
    {
        { "never-starts", 1 }, { "never-starts", 3 },
        { "after-key-bundle", 1 }, { "after-key-bundle", 3 },
        { "after-shares", 1 }, { "after-shares", 3 },
        { "after-masked-input", 1 }, { "after-masked-input", 3 },
    };

    [Theory]
    [MemberData(nameof(Dropouts))]
    public async Task TenPods_WithDropouts_GiveTheAggregateOfExactlyTheIncludedPods(string when, int lost)
    {
        // n = 10, t = 7: losing up to n − t = 3 pods at any phase still yields a result.
        var dropping = Enumerable.Range(10 - lost + 1, lost).ToHashSet();
        var plan = when switch
        {
            "never-starts" => Plan.Absent,
            "after-key-bundle" => new Plan(PodStep.KeyBundle),
            "after-shares" => new Plan(PodStep.Shares),
            _ => new Plan(PodStep.MaskedInput),
        };
        var (outcome, final, inputs, _) = await RunAsync(10, Mean(4), p => dropping.Contains(p) ? plan : Plan.Full);

        Assert.NotNull(outcome);
        // A pod that uploaded its masked vector is in the sum even if it never answers the unmask request.
        var included = when == "after-masked-input" ? Enumerable.Range(1, 10) : Enumerable.Range(1, 10).Where(p => !dropping.Contains(p));
        AssertMean(outcome!, inputs, included);
        Assert.Equal(SessionPhases.Completed, final.Phase);
        Assert.Equal(when == "after-masked-input" ? [] : dropping.Order(), final.Aggregation!.Dropped);
    }

    [Fact]
    public async Task FewerThanThresholdSurvivors_FailsCleanly_WithTheLatePods()
    {
        // n = 10, t = 7: four pods lost after the share exchange leave 6 < 7.
        var (outcome, final, _, t) = await RunAsync(10, Mean(3), p => p > 6 ? new Plan(PodStep.Shares) : Plan.Full);

        Assert.Null(outcome);
        Assert.Equal(SessionPhases.Failed, final.Phase);
        Assert.Contains("Only 6 of the 7", final.Aggregation!.FailureReason, StringComparison.Ordinal);
        Assert.Contains("p10 (party 10)", final.Aggregation.FailureReason, StringComparison.Ordinal);
        var error = await Assert.ThrowsAsync<SmpcApiException>(() => t.Modeller.GetUnmaskMaterialAsync(t.Tenant, "agg"));
        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.WrongPhase), (error.Status, error.Type));
    }
}
