using System.Diagnostics;
using Smpc.Client;
using Smpc.TestSupport;
using Xunit.Abstractions;

namespace Smpc.Integration.Tests;

/// <summary>Two silo processes and a gateway process on a real PostgreSQL server.</summary>
public sealed class ClusterModeTests(ITestOutputHelper output) : IAsyncLifetime
{
    private PostgresServer _postgres = null!;

    public async Task InitializeAsync() => _postgres = await PostgresServer.StartAsync();

    public async Task DisposeAsync() => await _postgres.DisposeAsync();

    [Fact]
    public async Task WritesThroughTheGateway_AreReadBackFromTheSurvivor_AfterKill9OfASilo()
    {
        var env = Services.ClusterEnvironment(await _postgres.CreateDatabaseAsync("cluster"), "it-" + Guid.NewGuid().ToString("N")[..6]);
        var (exit, migrateOutput) = await ServiceProcess.RunToCompletionAsync(Services.SiloAssembly, env, "migrate");
        Assert.True(exit == 0, migrateOutput);

        Task<ServiceProcess>[] silos = [StartSiloAsync("silo A", env), StartSiloAsync("silo B", env)];
        try
        {
            await Task.WhenAll(silos);
        }
        catch (Exception)
        {
            // The silo that did start must not outlive the failed start.
            foreach (var started in silos.Where(t => t.IsCompletedSuccessfully)) await (await started).DisposeAsync();
            throw;
        }

        await using var siloA = await silos[0];
        await using var siloB = await silos[1];
        await using var gateway = await ServiceProcess.StartReadyAsync("gateway", Services.GatewayAssembly, _ => env, Services.StartTimeout);
        var client = Services.OperatorFor(gateway);

        // Enough tenants that both silos host some of the grains.
        var tenants = Enumerable.Range(0, 6).Select(i => $"tenant-{i}").ToList();
        var modellers = new Dictionary<string, SmpcClient>();
        foreach (var tenant in tenants) modellers[tenant] = client.WithKey(await Services.SeedAsync(client, tenant));
        var calls = Stopwatch.StartNew();
        for (var i = 0; i < 50; i++) await modellers[tenants[i % tenants.Count]].GetSessionAsync(tenants[i % tenants.Count], "s1");
        output.WriteLine($"warm authenticated REST read through gateway -> grains: {calls.Elapsed.TotalMilliseconds / 50:F2} ms/request");

        await siloA.KillAsync();
        var failover = Stopwatch.StartNew();
        foreach (var tenant in tenants) await RetryUntilAnsweredAsync(() => Services.AssertSeededAsync(modellers[tenant], tenant), TimeSpan.FromSeconds(90));
        output.WriteLine($"all state read back from the survivor {failover.ElapsedMilliseconds} ms after kill -9");

        Assert.False(siloB.HasExited, siloB.Output);
        Assert.Equal("ready", (await client.GetReadinessAsync()).Status);
    }

    private static Task<ServiceProcess> StartSiloAsync(string name, Dictionary<string, string> env) =>
        ServiceProcess.StartReadyAsync(name, Services.SiloAssembly, ports => new Dictionary<string, string>(env).Concat(ports.SiloSettings).ToDictionary(), Services.StartTimeout);

    /// <summary>While the dead silo is not yet voted out, calls to its grains fail with retriable 503s; retry those only.</summary>
    private static async Task RetryUntilAnsweredAsync(Func<Task> action, TimeSpan timeout)
    {
        Exception? last = null;
        var answered = await Poll.UntilAsync(async () =>
        {
            try
            {
                await action();
                return true;
            }
            catch (Exception ex) when (IsRetriable(ex))
            {
                last = ex;
                return false;
            }
        }, timeout, TimeSpan.FromMilliseconds(200));
        if (!answered) throw new TimeoutException($"no answer after {timeout}", last);
    }

    private static bool IsRetriable(Exception ex) => ex switch
    {
        SmpcApiException api => (int)api.Status >= 500,
        HttpRequestException or TaskCanceledException => true,
        _ => false,
    };
}
