using System.Diagnostics;
using System.Globalization;

namespace Smpc.TestSupport;

/// <summary>
/// A cluster started by <c>deploy/local-cluster.sh</c> (PostgreSQL in a folder, 3 silos, 2 gateways, real processes on
/// loopback): the same script operators use, driven from tests and benchmarks.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private Dictionary<string, string> _settings;
    private readonly IReadOnlyDictionary<string, string> _environment;

    private LocalCluster(string directory, Dictionary<string, string> settings, IReadOnlyDictionary<string, string> environment)
    {
        Directory = directory;
        _settings = settings;
        _environment = environment;
    }

    /// <summary>The cluster's folder (logs, pids, PostgreSQL data).</summary>
    public string Directory { get; }

    /// <summary>The operator key the cluster was configured with.</summary>
    public string OperatorKey => _settings["OPERATOR_KEY"];

    /// <summary>The Npgsql connection string of the cluster's database.</summary>
    public string ConnectionString => _settings["PG_CONNECTION"];

    /// <summary>The Orleans cluster id.</summary>
    public string ClusterId => _settings["CLUSTER_ID"];

    /// <summary>silo1, silo2, …</summary>
    public IReadOnlyList<string> Silos => Names("silo", "SILOS");

    /// <summary>gateway1, gateway2, …</summary>
    public IReadOnlyList<string> Gateways => Names("gateway", "GATEWAYS");

    /// <summary>The REST base addresses of the gateways, in order.</summary>
    public IReadOnlyList<Uri> GatewayUrls => [.. Gateways.Select(UrlOf)];

    /// <summary>
    /// Starts a cluster in <paramref name="directory"/> (a fresh temporary folder when null) and waits until every process
    /// is ready. When the start fails half-way, everything it started (PostgreSQL included) is stopped before the error is thrown.
    /// </summary>
    /// <param name="environment">Extra settings for every process (e.g. <c>Smpc__ProbeTimeout</c>) and for the script (<c>SMPC_SILOS</c>, …).</param>
    public static async Task<LocalCluster> UpAsync(string? directory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        directory ??= Path.Combine(Path.GetTempPath(), "smpc-cluster-" + Guid.NewGuid().ToString("N")[..8]);
        var env = new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
        {
            ["SMPC_CONFIGURATION"] = RepoPaths.Configuration,
        };
        env.TryAdd("SMPC_CLUSTER_ID", "it-" + Guid.NewGuid().ToString("N")[..6]);
        try
        {
            var (exit, output) = await RunScriptAsync(env, TimeSpan.FromMinutes(4), "up", directory);
            if (exit != 0) throw new InvalidOperationException($"local-cluster.sh up failed ({exit}):\n{output}");
            return new LocalCluster(directory, ReadSettings(Path.Combine(directory, "cluster.env")), env);
        }
        catch (Exception)
        {
            await DownAsync(directory, env);
            throw;
        }
    }

    /// <summary>The HTTP base address of a process (silo1, gateway2, …).</summary>
    public Uri UrlOf(string name) => new(_settings[$"{Prefix(name).ToUpperInvariant()}{Number(name)}_URL"] + "/");

    /// <summary>SIGKILL: no shutdown hooks, nothing flushed.</summary>
    public Task KillAsync(string name) => RunAsync("kill", name);

    /// <summary>SIGTERM and wait for the process to exit (graceful shutdown).</summary>
    public Task StopAsync(string name) => RunAsync("stop", name);

    /// <summary>Starts a stopped process again on its own ports and waits until it is ready.</summary>
    public Task StartAsync(string name) => RunAsync("start", name);

    /// <summary>Fast shutdown of PostgreSQL (connections are cut).</summary>
    public Task StopPostgresAsync() => RunAsync("pg-stop");

    /// <summary>Starts PostgreSQL again on the same data.</summary>
    public Task StartPostgresAsync() => RunAsync("pg-start");

    /// <summary>The script's status report (processes, health, membership).</summary>
    public async Task<string> StatusAsync() => (await RunScriptAsync(_environment, TimeSpan.FromMinutes(1), "status", Directory)).Output;

    /// <summary>Starts whatever is not running (idempotent), e.g. to restore the cluster after a test.</summary>
    public Task EnsureUpAsync() => RunAsync("up");

    /// <summary>The pid of a running process, or null.</summary>
    public int? PidOf(string name)
    {
        var path = Path.Combine(Directory, "pids", name + ".pid");
        if (!File.Exists(path)) return null;
        var pid = int.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
        return File.Exists($"/proc/{pid}/status") ? pid : null;
    }

    /// <summary>Peak resident set size (VmHWM) of a running process, in bytes.</summary>
    public long PeakResidentBytes(string name)
    {
        var pid = PidOf(name) ?? throw new InvalidOperationException($"{name} is not running.");
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException("VmHWM not found");
    }

    /// <summary>Everything a process printed (for assertion messages).</summary>
    public string LogOf(string name)
    {
        var path = Path.Combine(Directory, "logs", name + ".log");
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    /// <summary>Stops everything and deletes the folder.</summary>
    public async ValueTask DisposeAsync() => await DownAsync(Directory, _environment);

    /// <summary>
    /// <c>down</c>, then SIGKILL of whatever the pid files still name (a process <c>down</c> did not know of, e.g. one
    /// started by an <c>up</c> that was killed itself); the folder is deleted unless SMPC_KEEP_CLUSTER=1.
    /// </summary>
    private static async Task DownAsync(string directory, IReadOnlyDictionary<string, string> environment)
    {
        // Each with its start time, so that a pid reused after `down` is never mistaken for the cluster's.
        var started = System.IO.Directory.Exists(Path.Combine(directory, "pids"))
            ? System.IO.Directory.GetFiles(Path.Combine(directory, "pids"), "*.pid").Select(ReadPid).OfType<int>()
                .Select(pid => (Pid: pid, Since: StartTimeOf(pid))).Where(p => p.Since is not null).ToList()
            : [];
        try
        {
            await RunScriptAsync(environment, TimeSpan.FromMinutes(2), "down", directory); // exits 1 without a cluster.env
        }
        catch (TimeoutException)
        {
        }
        finally
        {
            foreach (var (pid, since) in started)
                if (StartTimeOf(pid) == since) KillTree(pid);
            await StopPostgresAsync(directory);
        }

        if (Environment.GetEnvironmentVariable("SMPC_KEEP_CLUSTER") == "1") return; // keep logs for a post-mortem
        try { System.IO.Directory.Delete(directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>PostgreSQL may be running without a cluster.env (an <c>up</c> that failed right after starting it).</summary>
    private static async Task StopPostgresAsync(string directory)
    {
        if (!File.Exists(Path.Combine(directory, "pg", "data", "postmaster.pid"))) return;
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(RepoPaths.Root, "deploy", "pg-local.sh"));
        start.ArgumentList.Add("stop");
        start.ArgumentList.Add(Path.Combine(directory, "pg"));
        using var process = Process.Start(start)!;
        await process.WaitForExitAsync();
    }

    private static int? ReadPid(string path) =>
        int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) ? pid : null;

    private static DateTime? StartTimeOf(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.StartTime;
        }
        catch (ArgumentException) { return null; } // not running
        catch (InvalidOperationException) { return null; }
    }

    private static void KillTree(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill(entireProcessTree: true);
        }
        catch (ArgumentException) { } // already gone
        catch (InvalidOperationException) { }
    }

    private async Task RunAsync(params string[] args)
    {
        var (exit, output) = await RunScriptAsync(_environment, TimeSpan.FromMinutes(3), [.. args, Directory]);
        // A process that lost a port race was restarted on new ports: its URL in cluster.env changed.
        if (File.Exists(Path.Combine(Directory, "cluster.env"))) _settings = ReadSettings(Path.Combine(Directory, "cluster.env"));
        if (exit != 0) throw new InvalidOperationException($"local-cluster.sh {string.Join(' ', args)} failed ({exit}):\n{output}");
    }

    private IReadOnlyList<string> Names(string prefix, string countKey) =>
        [.. Enumerable.Range(1, int.Parse(_settings[countKey], CultureInfo.InvariantCulture)).Select(i => prefix + i)];

    private static string Prefix(string name) => name.TrimEnd("0123456789".ToCharArray());

    private static string Number(string name) => name[Prefix(name).Length..];

    private static Dictionary<string, string> ReadSettings(string path)
    {
        var settings = new Dictionary<string, string>();
        foreach (var line in File.ReadLines(path))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) continue;
            settings[line[..eq]] = line[(eq + 1)..].Trim('\'');
        }

        return settings;
    }

    private static async Task<(int ExitCode, string Output)> RunScriptAsync(IReadOnlyDictionary<string, string> environment, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(RepoPaths.Root, "deploy", "local-cluster.sh"));
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in environment) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            // The script and what it is waiting on (psql, curl, a build); the detached processes are stopped by DownAsync.
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
