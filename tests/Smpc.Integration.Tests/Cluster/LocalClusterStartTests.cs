using System.Net;
using System.Net.Sockets;
using Smpc.TestSupport;

namespace Smpc.Integration.Tests.Cluster;

/// <summary>deploy/local-cluster.sh as the cluster fixture drives it: a port lost at start, a start that fails half-way.</summary>
public sealed class LocalClusterStartTests : IDisposable
{
    private const string Marker = "SMPC_IT_START_MARKER";

    private readonly string _work = Path.Combine(Path.GetTempPath(), "smpc-start-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _marker = Guid.NewGuid().ToString("N");

    public LocalClusterStartTests() => Directory.CreateDirectory(_work);

    [Fact]
    public async Task ASiloWhosePortIsTakenJustBeforeItStarts_IsStartedOnNewPorts_AndTheClusterComesUp()
    {
        // The hook runs right before each process starts; before silo2's first start it names silo2's port and waits
        // until this test holds it.
        var hook = Path.Combine(_work, "before-launch.sh");
        File.WriteAllText(hook, $$"""
            [ "$1" = silo2 ] && [ ! -e {{_work}}/taken ] || exit 0
            grep '^Smpc__SiloPort=' "$2" | cut -d= -f2 > {{_work}}/wanted.tmp && mv {{_work}}/wanted.tmp {{_work}}/wanted
            while [ ! -e {{_work}}/taken ]; do sleep 0.05; done
            """);
        var directory = Path.Combine(_work, "cluster");
        var up = LocalCluster.UpAsync(directory, Settings(("SMPC_SILOS", "2"), ("SMPC_GATEWAYS", "1"), ("SMPC_BEFORE_LAUNCH", "bash " + hook)));

        var wanted = Path.Combine(_work, "wanted");
        while (!File.Exists(wanted) && !up.IsCompleted) await Task.Delay(50); // until the hook asks (the script's own timeout bounds this)
        Assert.True(File.Exists(wanted), "the hook never ran for silo2");
        var stolen = int.Parse(File.ReadAllText(wanted).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        using var thief = new TcpListener(IPAddress.Loopback, stolen);
        // SO_REUSEADDR alone (raw: .NET's ReuseAddress also sets SO_REUSEPORT on Linux, which would let the silo bind
        // beside this listener): a connection of another test may have left the port in TIME_WAIT since the script
        // picked it, and the listener still takes it then.
        const int SolSocket = 1, SoReuseAddr = 2;
        thief.Server.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
        try
        {
            thief.Start();
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            // Another process listens on it already: the port is taken just before silo2 starts, as this test wants.
        }

        File.WriteAllText(Path.Combine(_work, "taken"), "");

        await using var cluster = await up;

        Assert.Contains("address already in use", cluster.LogOf("silo2"), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain($"Smpc__SiloPort={stolen}\n", File.ReadAllText(Path.Combine(directory, "env", "silo2.env")), StringComparison.Ordinal);
        using var http = new HttpClient();
        foreach (var name in cluster.Silos.Concat(cluster.Gateways))
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(cluster.UrlOf(name), "health/ready"))).StatusCode);
    }

    [Fact]
    public async Task AStartThatFailsHalfWay_StopsEverythingItStarted()
    {
        // Not an assembly: the gateway dies at once, after PostgreSQL and the silo are up and ready.
        var bogus = Path.Combine(_work, "bogus.dll");
        File.WriteAllText(bogus, "");
        var directory = Path.Combine(_work, "cluster");

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            LocalCluster.UpAsync(directory, Settings(("SMPC_SILOS", "1"), ("SMPC_GATEWAYS", "1"), ("SMPC_GATEWAY_DLL", bogus))));

        // The script reaches the gateways only once PostgreSQL and every silo are ready.
        Assert.Contains("gateway1 exited before it was ready", failure.Message, StringComparison.Ordinal);
        Assert.Empty(MarkedProcesses.Find(Marker, _marker).Select(p => $"{p.Pid}: {p.CommandLine}"));
        Assert.Empty(PostgresOf(directory));
    }

    [Fact]
    public async Task TheProcessScan_FindsAMarkedProcess()
    {
        // The positive control of the scan the half-way test relies on.
        var start = new System.Diagnostics.ProcessStartInfo("sleep", "600");
        start.Environment[Marker] = _marker;
        using var sleeper = System.Diagnostics.Process.Start(start)!;
        try
        {
            Assert.Contains(MarkedProcesses.Find(Marker, _marker), p => p.Pid == sleeper.Id && p.CommandLine == "sleep 600");
        }
        finally
        {
            sleeper.Kill(entireProcessTree: true);
            await sleeper.WaitForExitAsync();
        }
    }

    public void Dispose()
    {
        foreach (var (pid, _) in MarkedProcesses.Find(Marker, _marker))
        {
            try { System.Diagnostics.Process.GetProcessById(pid).Kill(entireProcessTree: true); } catch (ArgumentException) { }
        }

        try { Directory.Delete(_work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private Dictionary<string, string> Settings(params (string Key, string Value)[] settings)
    {
        var env = settings.ToDictionary(s => s.Key, s => s.Value);
        env[Marker] = _marker; // inherited by the script and everything it starts, PostgreSQL included
        return env;
    }

    /// <summary>PostgreSQL processes serving the cluster's data folder (found by command line, whatever their environment).</summary>
    private static IEnumerable<string> PostgresOf(string directory) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => { try { return File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' '); } catch (IOException) { return ""; } })
            .Where(c => c.Contains(Path.Combine(directory, "pg", "data"), StringComparison.Ordinal));
}
