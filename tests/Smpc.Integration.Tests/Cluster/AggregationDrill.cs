using Smpc.Agent;
using Smpc.Agent.SecureAggregation;
using Smpc.Client;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;

namespace Smpc.Integration.Tests.Cluster;

/// <summary>
/// A secure-aggregation session on the cluster driven step by step: pods take a step (resuming from their state files) when
/// the test says so, the modeller waits for the result throughout. Inputs are known, so the mean can be checked exactly.
/// </summary>
internal sealed class AggregationDrill : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "smpc-drill-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly ModellerAggregation _modeller;
    private readonly Dictionary<string, SmpcClient> _podClients;

    /// <summary>The phase a session waits in until every pod has taken the step.</summary>
    public static readonly (PodStep Step, string Phase)[] Steps =
        [(PodStep.KeyBundle, SessionPhases.KeyExchange), (PodStep.Shares, SessionPhases.ShareExchange), (PodStep.MaskedInput, SessionPhases.MaskedInput), (PodStep.None, SessionPhases.Unmasking)];

    private AggregationDrill(ClusterTenant tenant, string sessionId, string[] pods, Dictionary<string, double[]> inputs, ModellerAggregation modeller,
        Dictionary<string, SmpcClient> podClients, SmpcClient modellerClient, CancellationToken ct)
    {
        Tenant = tenant;
        SessionId = sessionId;
        PodIds = pods;
        Inputs = inputs;
        _modeller = modeller;
        _podClients = podClients;
        ModellerClient = modellerClient;
        Directory.CreateDirectory(_work);
        Result = modeller.WaitForResultAsync(ct);
    }

    public ClusterTenant Tenant { get; }

    public string SessionId { get; }

    public string[] PodIds { get; }

    public Dictionary<string, double[]> Inputs { get; }

    public SmpcClient ModellerClient { get; }

    /// <summary>The modeller's result, once every pod has answered the unmask request.</summary>
    public Task<AggregationOutcome> Result { get; }

    /// <summary>Creates a tenant with <paramref name="pods"/> pods and a session over vectors of <paramref name="length"/>; parties retry through <paramref name="failures"/>.</summary>
    public static async Task<AggregationDrill> StartAsync(ClusterFixture fixture, int pods, int length, List<string> failures, CancellationToken ct, string sessionId = "s1")
    {
        var t = await fixture.TenantAsync("agg", pods);
        var ids = Enumerable.Range(1, pods).Select(i => $"p{i}").ToArray();
        var inputs = ids.ToDictionary(p => p, p => Enumerable.Range(0, length).Select(k => (double)((k * 31 + (Array.IndexOf(ids, p) + 1) * 97) % 1000) / 8).ToArray());
        var podClients = ids.ToDictionary(p => p, p => fixture.Client(t.Pods[p].ApiKey, failures, firstGateway: Array.IndexOf(ids, p) % 2));
        var modellerClient = fixture.Client(t.Modeller.ApiKey, failures);
        var spec = new AggregationRequest([new AggregationFieldRequest("x", length, 0, 1000)], "mean", "", "x", PhaseTimeoutSeconds: 900);
        var modeller = await ModellerAggregation.CreateAsync(modellerClient, t.Tenant, sessionId, "m1", ids, spec, ct: ct);
        return new AggregationDrill(t, sessionId, ids, inputs, modeller, podClients, modellerClient, ct);
    }

    /// <summary>The given pods take <paramref name="step"/> (None: answer the unmask request) and stop.</summary>
    public async Task StepAsync(IEnumerable<string> pods, PodStep step, CancellationToken ct)
    {
        var runs = Task.WhenAll(pods.Select(p => new SecureAggregationPodDriver(_podClients[p], Tenant.Tenant, SessionId, p, Tenant.Identities[p], _ => Inputs[p])
        {
            StopAfter = step,
            StateFile = new PartyStateFile(Path.Combine(_work, p + ".party")),
        }.RunAsync(ct)));
        try
        {
            await runs.WaitAsync(TimeSpan.FromSeconds(90), ct);
        }
        catch (TimeoutException)
        {
            var session = await ReadAsync();
            throw new TimeoutException($"step {step} of {string.Join(",", pods)} did not finish in 90 s; the session: {System.Text.Json.JsonSerializer.Serialize(session)}");
        }
    }

    /// <summary>The session as stored, read through a gateway.</summary>
    public Task<SessionResponse> ReadAsync() => ModellerClient.GetSessionAsync(Tenant.Tenant, SessionId);

    /// <summary>The parties whose message of <paramref name="phase"/> the service has accepted.</summary>
    public static IReadOnlyList<int> Accepted(SessionResponse session, string phase) => phase switch
    {
        SessionPhases.KeyExchange => session.Aggregation!.KeyBundles,
        SessionPhases.ShareExchange => session.Aggregation!.ShareSenders,
        SessionPhases.MaskedInput => session.Aggregation!.MaskedInputs,
        _ => session.Aggregation!.UnmaskResponses,
    };

    /// <summary>The result is the exact mean over every pod, and the stored session says every pod took part.</summary>
    public async Task AssertCompleteAndExactAsync()
    {
        var outcome = await Result;
        var all = Enumerable.Range(1, PodIds.Length).ToArray();
        Assert.Equal(all, outcome.IncludedParties);
        var length = Inputs[PodIds[0]].Length;
        var mean = outcome.Values["x"];
        for (var k = 0; k < length; k++) Assert.Equal(PodIds.Average(p => Inputs[p][k]), mean[k], 1e-6);

        var stored = await ReadAsync();
        Assert.Equal(SessionPhases.Completed, stored.Phase);
        Assert.Equal(all, stored.Aggregation!.KeyBundles.Order());
        Assert.Equal(all, stored.Aggregation.MaskedInputs.Order());
        Assert.Equal(all, stored.Aggregation.UnmaskResponses.Order());
        Assert.Equal(all, stored.Aggregation.Included!.Order());
        Assert.Empty(stored.Aggregation.Dropped);
    }

    /// <summary>What a party may see while a silo, a gateway or the database fails over: all retriable.</summary>
    public static void AssertOnlyRetriable(IEnumerable<string> failures) =>
        Assert.All(failures, f => Assert.Contains(f, new[] { "ServiceUnavailable", "BadGateway", "GatewayTimeout", "TooManyRequests", nameof(HttpRequestException) }));

    public static string Describe(IEnumerable<string> failures) =>
        string.Join(", ", failures.GroupBy(f => f).Select(g => $"{g.Key}×{g.Count()}")) is { Length: > 0 } s ? s : "none";

    public void Dispose()
    {
        _modeller.Dispose();
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { }
    }
}
