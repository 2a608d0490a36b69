using System.Collections.Concurrent;
using System.Diagnostics;

namespace Smpc.TestSupport;

/// <summary>A real silo or gateway process started from its build output, killed with SIGKILL or stopped at the end.</summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ServiceProcess(Process process, string name, Uri? baseAddress)
    {
        _process = process;
        Name = name;
        BaseAddress = baseAddress;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    /// <summary>The HTTP address of the process (null when it serves no HTTP).</summary>
    public Uri? BaseAddress { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the process printed so far (for assertion messages).</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Starts <c>dotnet {assembly} {args}</c> with the given environment, serving HTTP on <paramref name="httpPort"/>.</summary>
    public static ServiceProcess Start(string name, string assemblyPath, int? httpPort, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(assemblyPath)!,
        };
        start.ArgumentList.Add(assemblyPath);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Smpc"] = "Information";
        Uri? baseAddress = null;
        if (httpPort is { } port)
        {
            baseAddress = new Uri($"http://127.0.0.1:{port}/");
            start.Environment["ASPNETCORE_URLS"] = baseAddress.ToString().TrimEnd('/');
        }

        // A test's `smpc` never reads or writes the real ~/.config/smpc/pins.json: a fresh pins file per process unless the test gives one.
        start.Environment["SMPC_PINS"] = Path.Combine(Path.GetTempPath(), "smpc-test-pins", Guid.NewGuid().ToString("N") + ".json");
        foreach (var (k, v) in environment) start.Environment[k] = v;
        return new ServiceProcess(Process.Start(start)!, name, baseAddress);
    }

    /// <summary>
    /// Starts a process on <paramref name="pickPorts"/>' ports (fresh free ones by default) and waits until it is ready.
    /// A process that exits because one of its ports was taken between the pick and its bind is started again on new
    /// ports; any other failure kills it and is thrown.
    /// </summary>
    /// <remarks>
    /// Retrying beats binding port 0 here: a silo advertises its configured silo and gateway ports in the membership
    /// table before it binds them, so it cannot be told "any port" and report back.
    /// </remarks>
    public static async Task<ServiceProcess> StartReadyAsync(
        string name, string assemblyPath, Func<ServicePorts, IReadOnlyDictionary<string, string>> environment, TimeSpan timeout,
        Func<ServicePorts>? pickPorts = null)
    {
        pickPorts ??= ServicePorts.Fresh;
        for (var attempt = 1; ; attempt++)
        {
            var ports = pickPorts();
            var process = Start(name, assemblyPath, ports.Http, environment(ports));
            try
            {
                await process.WaitUntilReadyAsync(timeout);
                return process;
            }
            catch (Exception) when (attempt < BindConflict.Attempts && process.HasExited && BindConflict.IsIn(process.Output))
            {
                await process.DisposeAsync();
            }
            catch (Exception)
            {
                await process.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Runs a command of the same executable to completion (e.g. <c>migrate</c>) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunToCompletionAsync(string assemblyPath, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        await using var process = Start("run", assemblyPath, null, environment, args);
        await process._process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        // Let the asynchronous readers drain.
        process._process.WaitForExit();
        return (process._process.ExitCode, process.Output);
    }

    /// <summary>Waits for the process to exit by itself.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        _process.WaitForExit();
    }

    /// <summary>Polls <c>/health/ready</c> until it answers 200, the process dies, or the timeout (a guard against hangs) passes.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var ready = await Poll.UntilAsync(async () =>
        {
            if (_process.HasExited)
            {
                _process.WaitForExit(); // drain the output readers
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync("health/ready");
                return response.IsSuccessStatusCode;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, timeout, TimeSpan.FromMilliseconds(100));
        if (ready) return;
        throw new TimeoutException($"{Name} was not ready after {timeout}:\n{Output}");
    }

    /// <summary>SIGKILL of the process and everything it started: no shutdown hooks, no flushing; what is durable must already be on disk.</summary>
    public async Task KillAsync()
    {
        try
        {
            if (_process.HasExited) return;
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { return; } // exited between the check and the kill
        await _process.WaitForExitAsync();
    }

    /// <summary>Peak resident set size (VmHWM) in bytes, read from /proc while the process runs.</summary>
    public long PeakResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException("VmHWM not found");
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
