using System.Collections.Concurrent;
using Smpc.Agent;
using Smpc.Agent.Identity;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;

namespace Smpc.Gateway.Tests.Federated;

/// <summary>
/// A tenant whose pods each run the real pod agent (<see cref="PodAgent"/>) in this process against the embedded service,
/// each with its own folder, identity key file, data and policy, exactly as <c>smpc pod run</c> does on the pod's machine.
/// </summary>
internal sealed class FederatedPods : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _agents = [];

    private FederatedPods(string tenant, SmpcClient modeller, string folder)
    {
        Tenant = tenant;
        Modeller = modeller;
        Folder = folder;
    }

    public string Tenant { get; }

    public SmpcClient Modeller { get; }

    public string Folder { get; }

    /// <summary>Every agent's log lines, prefixed by its pod.</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    public Dictionary<string, SmpcClient> PodClients { get; } = [];

    public string PodFolder(string pod) => Path.Combine(Folder, pod);

    /// <summary>Registers the pods, lets <paramref name="prepare"/> write each pod's data and configure it, and starts their agents.</summary>
    public static async Task<FederatedPods> StartAsync(EmbeddedService service, IReadOnlyList<string> pods, Func<string, string, PodAgentConfig, PodAgentConfig> prepare)
    {
        var tenant = "t-" + Guid.NewGuid().ToString("N")[..10];
        var admin = service.Anonymous.WithKey((await service.Operator.CreateTenantAsync(new CreateTenantRequest(tenant, "Federated"))).AdminKey!.ApiKey);
        var modellerIdentity = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        var modeller = service.Anonymous.WithKey((await admin.RegisterModellerAsync(tenant,
            new RegisterModellerRequest("m1", "Modeller", Convert.ToBase64String(modellerIdentity.PublicKey)))).ApiKey!.ApiKey).WithModellerIdentity(modellerIdentity);
        var result = new FederatedPods(tenant, modeller, Path.Combine(Path.GetTempPath(), "smpc-fed-" + Guid.NewGuid().ToString("N")[..8]));
        foreach (var pod in pods)
        {
            var folder = result.PodFolder(pod);
            Directory.CreateDirectory(folder);
            using var identity = IdentityKeyFile.Create(Path.Combine(folder, "identity.key"));
            var registered = await admin.RegisterPodAsync(tenant, new RegisterPodRequest(pod, pod, Convert.ToBase64String(identity.PublicKey)));
            var client = service.Anonymous.WithKey(registered.ApiKey!.ApiKey);
            result.PodClients[pod] = client;
            var config = prepare(pod, folder, new PodAgentConfig { Tenant = tenant, Pod = pod, ApiKey = registered.ApiKey.ApiKey, IdentityKeyFile = "identity.key" });
            var agent = new PodAgent(config, folder, client, line => result.Log.Enqueue($"{pod}: {line}")) { LongPollSeconds = 1 };
            result._agents.Add(Task.Run(() => agent.RunAsync(result._stop.Token)));
        }

        return result;
    }

    /// <summary>Names of the spans captured in <paramref name="session"/>'s trace (every party's, as all run in this process).</summary>
    public static HashSet<string> SpanNames(EmbeddedService service, SessionResponse session)
    {
        var trace = System.Diagnostics.ActivityContext.Parse(session.TraceParent!, null).TraceId;
        return [.. service.SnapshotSpans().Where(a => a.TraceId == trace).Select(a => a.OperationName)];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_agents).WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
