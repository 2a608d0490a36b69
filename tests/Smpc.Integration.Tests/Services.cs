using Smpc.Client;
using Smpc.Client.Contracts;
using Smpc.TestSupport;

namespace Smpc.Integration.Tests;

/// <summary>Starts the service's real executables from their build output.</summary>
internal static class Services
{
    public static string SiloAssembly => RepoPaths.Assembly("Silo", "Smpc.Silo");

    public static string GatewayAssembly => RepoPaths.Assembly("ApiGateway", "Smpc.ApiGateway");

    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    /// <summary>An embedded silo (SQLite in <paramref name="dataDirectory"/>, REST co-hosted).</summary>
    public static ServiceProcess StartEmbedded(string dataDirectory, int httpPort, int siloPort, int gatewayPort, IReadOnlyDictionary<string, string>? extra = null)
    {
        var env = new Dictionary<string, string>
        {
            ["Smpc__DataDirectory"] = dataDirectory,
            ["Smpc__SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Smpc__GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>()) env[k] = v;
        return ServiceProcess.Start("embedded silo", SiloAssembly, httpPort, env);
    }

    /// <summary>Cluster-mode environment for a database.</summary>
    public static Dictionary<string, string> ClusterEnvironment(string connectionString, string clusterId) => new()
    {
        ["Smpc__Mode"] = "Cluster",
        ["ConnectionStrings__Smpc"] = connectionString,
        ["Smpc__ClusterId"] = clusterId,
        ["Smpc__ServiceId"] = "smpc-it",
        // Fast failure detection for the test (PLATFORM-NOTES: ~2 s probes and 2-3 misses are sane on this box).
        ["Smpc__ProbeTimeout"] = "00:00:02",
        ["Smpc__NumMissedProbesLimit"] = "2",
    };

    public static SmpcClient ClientFor(ServiceProcess process) =>
        new(new HttpClient { BaseAddress = process.BaseAddress, Timeout = TimeSpan.FromSeconds(30) });

    /// <summary>Creates a tenant with three pods, a modeller and a session through REST.</summary>
    public static async Task SeedAsync(SmpcClient client, string tenant)
    {
        await client.CreateTenantAsync(new CreateTenantRequest(tenant, "Tenant " + tenant));
        foreach (var pod in new[] { "p1", "p2", "p3" }) await client.RegisterPodAsync(tenant, new RegisterMemberRequest(pod, "Pod " + pod));
        await client.RegisterModellerAsync(tenant, new RegisterMemberRequest("m1", "Modeller"));
        await client.CreateSessionAsync(tenant, new CreateSessionRequest("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"]));
    }

    /// <summary>Reads back what <see cref="SeedAsync"/> wrote and checks it.</summary>
    public static async Task AssertSeededAsync(SmpcClient client, string tenant)
    {
        var session = await client.GetSessionAsync(tenant, "s1");
        Assert.Equal(("m1", SessionKinds.SecureAggregation, "created"), (session.ModellerId, session.Kind, session.Phase));
        Assert.Equal(["p1", "p2", "p3"], session.PodIds);
        var info = await client.GetTenantAsync(tenant);
        Assert.Equal((3, 1), (info.PodCount, info.ModellerCount));
        Assert.Equal("Pod p3", (await client.GetPodAsync(tenant, "p3")).DisplayName);
    }
}
