using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;
using Smpc.Client;
using Smpc.Silo.Hosting;
using Smpc.TestSupport;

namespace Smpc.Gateway.Tests;

/// <summary>The embedded service (silo + REST, SQLite) on real Kestrel on a loopback port, with finished spans collected in memory.</summary>
public class EmbeddedService : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "smpc-gw-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>The service's data directory (SQLite database and operator key).</summary>
    public string DataDirectory => _dataDirectory;

    /// <summary>Runs before the service starts, e.g. to mount a size-limited file system on the data directory.</summary>
    protected virtual Task PrepareDataDirectoryAsync(string directory) => Task.CompletedTask;

    /// <summary>Runs after the service stopped and before its data directory is deleted.</summary>
    protected virtual Task ReleaseDataDirectoryAsync(string directory) => Task.CompletedTask;
    private WebApplication? _app;

    public List<Activity> Spans { get; } = [];

    /// <summary>The service's SQLite database file (grain state and payload chunks).</summary>
    public string DatabasePath => Path.Combine(_dataDirectory, "smpc.db");

    /// <summary>Everything the service logged, at every level.</summary>
    public CapturedLogs Logs { get; } = new();

    /// <summary>The service's clock: session deadlines pass when a test advances it.</summary>
    public ManualClock Clock { get; } = new();

    public HttpClient Http { get; private set; } = null!;

    /// <summary>The operator key this service was configured with.</summary>
    public string OperatorKey { get; } = Smpc.ApiGateway.Auth.OperatorKeys.Generate();

    /// <summary>A client without credentials.</summary>
    public SmpcClient Anonymous { get; private set; } = null!;

    /// <summary>A client acting as the operator.</summary>
    public SmpcClient Operator { get; private set; } = null!;

    /// <summary>The service's own grain factory: for tests that play a service gone bad (tampering with stored state).</summary>
    public IGrainFactory Grains => _app!.Services.GetRequiredService<IGrainFactory>();

    /// <summary>The service's own services (e.g. its reminder table), for tests that look inside.</summary>
    public IServiceProvider Services => _app!.Services;

    /// <summary>
    /// Settings on top of the defaults. The shared service lifts the per-address failed-authentication budget: the attack
    /// suite sends hundreds of forged keys from one address on purpose, and that budget has its own tests and service.
    /// </summary>
    /// <remarks>It also logs request lines (off by default), which some attack tests read to see how a request ended.</remarks>
    protected virtual IEnumerable<string> Settings =>
    [
        "--Smpc:Gateway:RateLimit:FailedAuthenticationsPerSecond=100000", "--Smpc:Gateway:RateLimit:FailedAuthenticationsBurst=1000000",
        "--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=Information",
    ];

    public async Task InitializeAsync()
    {
        try
        {
            Directory.CreateDirectory(_dataDirectory);
            await PrepareDataDirectoryAsync(_dataDirectory);
            var url = await BindConflict.RetryAsync(StartOnFreshPortsAsync);
            Http = new HttpClient { BaseAddress = new Uri(url + "/") };
            Anonymous = new SmpcClient(Http);
            Operator = Anonymous.WithKey(OperatorKey);
        }
        catch (Exception)
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>Builds and starts the service on fresh ports; a start that fails leaves nothing running.</summary>
    private async Task<string> StartOnFreshPortsAsync()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var app = await SmpcApp.BuildAsync(
            [
                $"--urls={url}",
                $"--Smpc:DataDirectory={_dataDirectory}",
                $"--Smpc:SiloPort={FreePort.Next()}",
                $"--Smpc:GatewayPort={FreePort.Next()}",
                "--Smpc:Gateway:MaxJsonBytes=4096",
                "--Smpc:Gateway:ChunkBytes=1048576",
                $"--Smpc:Gateway:OperatorKeySha256={Smpc.ApiGateway.Auth.OperatorKeys.HashHex(OperatorKey)}",
                "--Logging:LogLevel:Default=Debug",
                "--Logging:Console:LogLevel:Default=Warning",
                .. Settings,
            ],
            builder =>
            {
                builder.Services.AddOpenTelemetry().WithTracing(t => t.AddInMemoryExporter(Spans));
                builder.Services.AddSingleton<TimeProvider>(Clock);
                builder.Logging.AddProvider(Logs);
                builder.Logging.SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Trace);
            });
        try
        {
            await app.StartAsync();
        }
        catch (Exception)
        {
            try { await app.DisposeAsync(); } catch (Exception) { } // the start's own error is the one to report
            throw;
        }

        _app = app;
        return url;
    }

    /// <summary>The spans finished so far (copied under the exporter's lock-free list, so take a snapshot).</summary>
    public Activity[] SnapshotSpans()
    {
        lock (Spans) return [.. Spans];
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await ReleaseDataDirectoryAsync(_dataDirectory);
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class EmbeddedServiceCollection : ICollectionFixture<EmbeddedService>
{
    public const string Name = "embedded service";
}
