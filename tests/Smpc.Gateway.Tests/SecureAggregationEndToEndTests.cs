using System.Diagnostics;
using System.Net;
using Smpc.Client;
using Smpc.Client.Contracts;
using Smpc.Client.SecureAggregation;

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
        int podCount, AggregationRequest spec, Func<int, Plan>? plans = null, Func<int, double[]>? inputs = null)
    {
        plans ??= _ => Plan.Full;
        var pods = Enumerable.Range(1, podCount).Select(i => $"p{i}").ToArray();
        var t = await Scenario.TenantAsync(service, pods);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "agg", "m1", pods, spec with { PhaseTimeoutSeconds = PhaseTimeoutSeconds });
        var values = Enumerable.Range(1, podCount).ToDictionary(p => p, p => inputs?.Invoke(p) ?? InputOf(p, spec.Fields.Sum(f => f.Length)));

        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var podTasks = Enumerable.Range(1, podCount).Where(p => !plans(p).NeverStarts).Select(p =>
            new PodAggregationRunner(t.Pods[$"p{p}"], t.Tenant, "agg", $"p{p}", t.Identities[$"p{p}"], _ => values[p])
            {
                PollInterval = TimeSpan.FromMilliseconds(20),
                StopAfter = plans(p).StopAfter,
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

    [Fact]
    public async Task WeightedMean_DividesByTheSummedWeights()
    {
        var spec = new AggregationRequest(
            [new AggregationFieldRequest("theta", 2, -1e6, 1e6), new AggregationFieldRequest("n", 1, 0, 1e6)], "weighted-mean", "", "update", WeightField: "n");
        // Pods submit n_i·θ_i and n_i.
        double[][] theta = [[1, 2], [3, 4], [5, 6]];
        double[] n = [10, 30, 60];
        var (outcome, _, _, _) = await RunAsync(3, spec, inputs: p => [theta[p - 1][0] * n[p - 1], theta[p - 1][1] * n[p - 1], n[p - 1]]);

        Assert.Equal((1 * 10 + 3 * 30 + 5 * 60) / 100.0, outcome!.Values["theta"][0], 1e-9);
        Assert.Equal((2 * 10 + 4 * 30 + 6 * 60) / 100.0, outcome.Values["theta"][1], 1e-9);
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
