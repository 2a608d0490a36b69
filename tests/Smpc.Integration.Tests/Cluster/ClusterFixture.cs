using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Runtime;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.TestSupport;

namespace Smpc.Integration.Tests.Cluster;

/// <summary>
/// One cluster of real processes started by deploy/local-cluster.sh (3 silos, 2 gateways, PostgreSQL in a folder) for the
/// failure scenarios, which run one after another and each leave the cluster whole again. Membership is tuned for fast
/// failure detection unless SMPC_IT_DEFAULT_MEMBERSHIP=1 (then Orleans' defaults are measured).
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private IHost? _inspector;

    private LocalCluster? _cluster;

    public LocalCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not started.");

    /// <summary>True when Orleans' default membership timing is in force (the measurement run).</summary>
    public static bool DefaultMembership => Environment.GetEnvironmentVariable("SMPC_IT_DEFAULT_MEMBERSHIP") == "1";

    /// <summary>The membership settings the silos run with, for the measurements' labels.</summary>
    public static string MembershipLabel => DefaultMembership ? "default membership (probe 5 s × 3 misses)" : "tuned membership (probe 2 s × 2 misses)";

    public async Task InitializeAsync()
    {
        var env = new Dictionary<string, string>();
        if (!DefaultMembership)
        {
            env["Smpc__ProbeTimeout"] = "00:00:02";
            env["Smpc__NumMissedProbesLimit"] = "2";
        }

        // UpAsync stops what it started when it fails half-way; after it, this fixture's own DisposeAsync does.
        _cluster = await LocalCluster.UpAsync(environment: env);
        try
        {
            await StartInspectorAsync();
        }
        catch (Exception)
        {
            await DisposeAsync();
            throw;
        }
    }

    private async Task StartInspectorAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o => { o.ClusterId = Cluster.ClusterId; o.ServiceId = "smpc-local"; });
            client.UseAdoNetClustering(o => { o.Invariant = "Npgsql"; o.ConnectionString = Cluster.ConnectionString; });
        });
        _inspector = builder.Build();
        await _inspector.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_inspector is not null)
        {
            try { await _inspector.StopAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
            _inspector.Dispose();
            _inspector = null;
        }

        if (_cluster is not null) await _cluster.DisposeAsync();
        _cluster = null;
    }

    /// <summary>A client of the whole cluster (both gateways, failing over) that retries transient failures; <paramref name="failures"/> collects what it retried.</summary>
    /// <remarks><paramref name="outer"/> handlers (e.g. request gates) see each call before the retries and the failover do.</remarks>
    public SmpcClient Client(string? apiKey, List<string>? failures = null, int firstGateway = 0, params DelegatingHandler[] outer)
    {
        var failover = new GatewayFailoverHandler(Cluster.GatewayUrls, firstGateway) { InnerHandler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(3) } };
        var retry = new TransientRetryHandler(failover)
        {
            MaxElapsed = TimeSpan.FromMinutes(2),
            OnRetry = (status, ex) =>
            {
                if (failures is not null) lock (failures) failures.Add(status?.ToString() ?? ex!.GetType().Name);
                if (Environment.GetEnvironmentVariable("SMPC_IT_TRACE_RETRIES") == "1") Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} retry after {status?.ToString() ?? ex!.Message}");
            },
        };
        HttpMessageHandler handler = retry;
        foreach (var h in outer.Reverse())
        {
            h.InnerHandler = handler;
            handler = h;
        }

        return new SmpcClient(new HttpClient(handler) { BaseAddress = Cluster.GatewayUrls[firstGateway], Timeout = TimeSpan.FromMinutes(3) }, apiKey);
    }

    /// <summary>The operator, through the cluster.</summary>
    public SmpcClient Operator => Client(Cluster.OperatorKey);

    /// <summary>The name (silo1…) of the silo hosting a grain's activation, or null when it is not active anywhere.</summary>
    public async Task<string?> HostOfAsync(string grainType, string key)
    {
        var management = _inspector!.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);
        var hosts = await management.GetDetailedHosts(onlyActive: true);
        var stats = await management.GetDetailedGrainStatistics(null, [.. hosts.Select(h => h.SiloAddress)]);
        var target = GrainId.Create(grainType, key);
        var hit = stats.FirstOrDefault(s => s.GrainId == target);
        return hit is null ? null : hosts.First(h => h.SiloAddress.Equals(hit.SiloAddress)).SiloName;
    }

    /// <summary>Kills (SIGKILL) the silo hosting the grain (any silo when it is not active), then measures how long until <paramref name="probe"/> succeeds again through the gateways; restarts the silo afterwards.</summary>
    public async Task<(string Silo, TimeSpan Recovery)> KillHostAndRecoverAsync(string grainType, string key, Func<Task> probe, bool restart = true)
    {
        var victim = await HostOfAsync(grainType, key) ?? Cluster.Silos[0];
        await Cluster.KillAsync(victim);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await probe();
                break;
            }
            catch (Exception ex) when (clock.Elapsed < TimeSpan.FromMinutes(2) && IsRetriable(ex))
            {
                await Task.Delay(50);
            }
        }

        var recovery = clock.Elapsed;
        if (restart) await Cluster.StartAsync(victim);
        return (victim, recovery);
    }

    /// <summary>Creates a tenant and registers pods (with Ed25519 identities) and a modeller m1; returns the admin and every member's client.</summary>
    public async Task<ClusterTenant> TenantAsync(string prefix, int pods)
    {
        var tenant = prefix + "-" + Guid.NewGuid().ToString("N")[..6];
        var created = await Operator.CreateTenantAsync(new CreateTenantRequest(tenant, "Tenant " + tenant));
        var admin = Client(created.AdminKey!.ApiKey);
        var podClients = new Dictionary<string, SmpcClient>();
        var identities = new Dictionary<string, Smpc.Protocols.Crypto.Ed25519KeyPair>();
        for (var i = 1; i <= pods; i++)
        {
            var pod = $"p{i}";
            identities[pod] = Smpc.Protocols.Crypto.Ed25519KeyPair.Generate(Smpc.Protocols.Randomness.SystemRandomSource.Instance);
            var registered = await admin.RegisterPodAsync(tenant, new RegisterPodRequest(pod, "Pod " + pod, Convert.ToBase64String(identities[pod].PublicKey)));
            podClients[pod] = Client(registered.ApiKey!.ApiKey, firstGateway: i % Cluster.GatewayUrls.Count);
        }

        var modellerIdentity = Smpc.Protocols.Crypto.Ed25519KeyPair.Generate(Smpc.Protocols.Randomness.SystemRandomSource.Instance);
        var modeller = await admin.RegisterModellerAsync(tenant, new RegisterModellerRequest("m1", "Modeller", Convert.ToBase64String(modellerIdentity.PublicKey)));
        return new ClusterTenant(tenant, admin, Client(modeller.ApiKey!.ApiKey).WithModellerIdentity(modellerIdentity), podClients, identities);
    }

    private static bool IsRetriable(Exception ex) => ex switch
    {
        SmpcApiException api => (int)api.Status >= 500 || api.Status == HttpStatusCode.TooManyRequests,
        HttpRequestException or TaskCanceledException or TimeoutException => true,
        _ => false,
    };
}

/// <summary>A tenant of the cluster as its people see it.</summary>
public sealed record ClusterTenant(
    string Tenant, SmpcClient Admin, SmpcClient Modeller, IReadOnlyDictionary<string, SmpcClient> Pods,
    IReadOnlyDictionary<string, Smpc.Protocols.Crypto.Ed25519KeyPair> Identities);

/// <summary>The failure scenarios share one cluster and run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "local cluster";
}
