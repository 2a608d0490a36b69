using Smpc.Client;
using Smpc.Contracts;
using Smpc.TestSupport;

namespace Smpc.Integration.Tests;

/// <summary>Starts the service's real executables from their build output.</summary>
internal static class Services
{
    public static string SiloAssembly => RepoPaths.Assembly("Silo", "Smpc.Silo");

    public static string GatewayAssembly => RepoPaths.Assembly("ApiGateway", "Smpc.ApiGateway");

    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    /// <summary>The operator key every test process is configured with (by hash).</summary>
    public static readonly string OperatorKey = Smpc.ApiGateway.Auth.OperatorKeys.Generate();

    private static string OperatorKeyHash => Smpc.ApiGateway.Auth.OperatorKeys.HashHex(OperatorKey);

    /// <summary>A ready embedded silo (SQLite in <paramref name="dataDirectory"/>, REST co-hosted) on fresh ports, started again on new ones when it loses one.</summary>
    public static Task<ServiceProcess> StartEmbeddedAsync(string dataDirectory, IReadOnlyDictionary<string, string>? extra = null, Func<ServicePorts>? pickPorts = null) =>
        ServiceProcess.StartReadyAsync("embedded silo", SiloAssembly, ports =>
        {
            var env = new Dictionary<string, string>(ports.SiloSettings)
            {
                ["Smpc__DataDirectory"] = dataDirectory,
                ["Smpc__Gateway__OperatorKeySha256"] = OperatorKeyHash,
            };
            foreach (var (k, v) in extra ?? new Dictionary<string, string>()) env[k] = v;
            return env;
        }, StartTimeout, pickPorts);

    /// <summary>Cluster-mode environment for a database.</summary>
    public static Dictionary<string, string> ClusterEnvironment(string connectionString, string clusterId)
    {
        var env = ClusterEnvironmentTuned(connectionString, clusterId);
        // SMPC_IT_DEFAULT_MEMBERSHIP=1 measures failover with Orleans' default probe settings instead.
        if (Environment.GetEnvironmentVariable("SMPC_IT_DEFAULT_MEMBERSHIP") == "1")
        {
            env.Remove("Smpc__ProbeTimeout");
            env.Remove("Smpc__NumMissedProbesLimit");
        }

        return env;
    }

    private static Dictionary<string, string> ClusterEnvironmentTuned(string connectionString, string clusterId) => new()
    {
        ["Smpc__Mode"] = "Cluster",
        ["ConnectionStrings__Smpc"] = connectionString,
        ["Smpc__ClusterId"] = clusterId,
        ["Smpc__ServiceId"] = "smpc-it",
        ["Smpc__Gateway__OperatorKeySha256"] = OperatorKeyHash,
        // Fast failure detection for the test (PLATFORM-NOTES: ~2 s probes and 2-3 misses are sane on this box).
        ["Smpc__ProbeTimeout"] = "00:00:02",
        ["Smpc__NumMissedProbesLimit"] = "2",
    };

    /// <summary>A client of the process acting as the operator.</summary>
    public static SmpcClient OperatorFor(ServiceProcess process) =>
        new(new HttpClient { BaseAddress = process.BaseAddress, Timeout = TimeSpan.FromSeconds(30) }, OperatorKey);

    /// <summary>Creates a tenant with three pods, a modeller and a session through REST; returns the modeller's key.</summary>
    public static async Task<string> SeedAsync(SmpcClient @operator, string tenant)
    {
        var created = await @operator.CreateTenantAsync(new CreateTenantRequest(tenant, "Tenant " + tenant));
        var admin = @operator.WithKey(created.AdminKey!.ApiKey);
        foreach (var pod in new[] { "p1", "p2", "p3" })
            await admin.RegisterPodAsync(tenant, new RegisterPodRequest(pod, "Pod " + pod, Convert.ToBase64String(new byte[32])));
        var modeller = await admin.RegisterModellerAsync(tenant, new RegisterModellerRequest("m1", "Modeller"));
        await admin.WithKey(modeller.ApiKey!.ApiKey).CreateSessionAsync(tenant, new CreateSessionRequest("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"],
            new AggregationRequest([new AggregationFieldRequest("x", 3, -10, 10)], "mean", Convert.ToBase64String(new byte[32]), "x")));
        return modeller.ApiKey.ApiKey;
    }

    /// <summary>Reads back, as the modeller, what <see cref="SeedAsync"/> wrote and checks it.</summary>
    public static async Task AssertSeededAsync(SmpcClient modeller, string tenant)
    {
        var session = await modeller.GetSessionAsync(tenant, "s1");
        Assert.Equal(("m1", SessionKinds.SecureAggregation, SessionPhases.KeyExchange), (session.ModellerId, session.Kind, session.Phase));
        Assert.Equal(["p1", "p2", "p3"], session.PodIds);
        var info = await modeller.GetTenantAsync(tenant);
        Assert.Equal((3, 1), (info.PodCount, info.ModellerCount));
        Assert.Equal("Pod p3", (await modeller.GetPodAsync(tenant, "p3")).DisplayName);
    }
}
