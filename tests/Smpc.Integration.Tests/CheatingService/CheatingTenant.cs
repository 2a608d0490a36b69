using System.Collections.Concurrent;
using Smpc.Agent;
using Smpc.Agent.Identity;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;

namespace Smpc.Integration.Tests.CheatingService;

/// <summary>
/// A tenant whose pods run real agents in-process, each through its own <see cref="RewritingHandler"/> (the cheating
/// service as that pod sees it), and a modeller that signs with its identity key through an honest connection.
/// </summary>
internal sealed class CheatingTenant : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _agents = [];

    private CheatingTenant(string tenant, SmpcClient modeller, Ed25519KeyPair identity)
    {
        Tenant = tenant;
        Modeller = modeller;
        ModellerIdentity = identity;
    }

    public string Tenant { get; }

    /// <summary>The modeller's client (honest connection), signing with <see cref="ModellerIdentity"/>.</summary>
    public SmpcClient Modeller { get; }

    public Ed25519KeyPair ModellerIdentity { get; }

    /// <summary>Each pod's view of the service.</summary>
    public Dictionary<string, RewritingHandler> Handlers { get; } = [];

    /// <summary>Every pod's log lines.</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    public static readonly string[] Pods = ["p1", "p2", "p3"];

    /// <summary>
    /// Registers modeller m1 with an identity key and the pods, lets <paramref name="attack"/> arm each pod's handler, and
    /// starts the agents; <paramref name="configure"/> may change a pod's configuration (e.g. pin the modeller's real identity).
    /// </summary>
    public static async Task<CheatingTenant> StartAsync(
        CheatingWorld world, Action<RewritingHandler> attack, Func<PodAgentConfig, Ed25519KeyPair, PodAgentConfig>? configure = null, bool modellerHasKey = true)
    {
        var tenant = "c-" + Guid.NewGuid().ToString("N")[..10];
        var admin = await world.NewTenantAsync(tenant);
        var identity = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        var registered = await admin.RegisterModellerAsync(tenant,
            new RegisterModellerRequest("m1", "Modeller", modellerHasKey ? Convert.ToBase64String(identity.PublicKey) : null));
        var modeller = new SmpcClient(new HttpClient { BaseAddress = world.BaseAddress }, registered.ApiKey!.ApiKey).WithModellerIdentity(identity);
        var result = new CheatingTenant(tenant, modeller, identity);
        foreach (var (pod, i) in Pods.Select((p, i) => (p, i)))
        {
            var folder = Path.Combine(world.Work, tenant, pod);
            Directory.CreateDirectory(folder);
            using var podIdentity = IdentityKeyFile.Create(Path.Combine(folder, "identity.key"));
            var podKey = (await admin.RegisterPodAsync(tenant, new RegisterPodRequest(pod, pod, Convert.ToBase64String(podIdentity.PublicKey)))).ApiKey!.ApiKey;
            var handler = new RewritingHandler(new HttpClientHandler());
            attack(handler);
            result.Handlers[pod] = handler;
            var client = new SmpcClient(new HttpClient(handler) { BaseAddress = world.BaseAddress }, podKey);
            var config = new PodAgentConfig
            {
                Tenant = tenant, Pod = pod, ApiKey = podKey, IdentityKeyFile = "identity.key",
                Inputs = new() { ["x"] = new PodInput { Values = [i + 1.0, 2.0] } },
            };
            config = configure?.Invoke(config, identity) ?? config;
            var agent = new PodAgent(config, folder, client, line => result.Log.Enqueue($"{pod}: {line}")) { LongPollSeconds = 1 };
            result._agents.Add(Task.Run(() => agent.RunAsync(result._stop.Token)));
        }

        return result;
    }

    /// <summary>A small secure-aggregation spec over the pods' input x (2 values).</summary>
    public static AggregationRequest Aggregation() => new([new AggregationFieldRequest("x", 2, -10, 10)], "sum", "", "x");

    /// <summary>Polls the session as the modeller until <paramref name="done"/> holds (the test's fail-safe is its own timeout).</summary>
    public async Task<SessionResponse> WaitAsync(string sessionId, Func<SessionResponse, bool> done, TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        var session = await Modeller.GetSessionAsync(Tenant, sessionId, cts.Token);
        while (!done(session))
            session = await Modeller.WaitForSessionChangeAsync(Tenant, sessionId, session.Version, 2, cts.Token);
        return session;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_agents).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }
}
