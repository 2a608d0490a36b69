using System.Diagnostics.Metrics;
using Smpc.Grains.Interfaces.Diagnostics;
using Orleans.Runtime;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.ApiGateway.Hosting;

/// <summary>How often the sessions-by-phase gauge reads the census, bound from <c>Smpc:Telemetry:SessionCensus</c>.</summary>
public sealed class SessionCensusOptions
{
    public const string Section = "Smpc:Telemetry:SessionCensus";

    /// <summary>Seconds between reads of the census grain. Default 15 (a typical scrape interval).</summary>
    public double RefreshSeconds { get; set; } = 15;
}

/// <summary>
/// Two service-wide gauges read from the cluster in the background (a gauge's callback never calls a grain, it reports
/// the last read): <c>smpc.sessions.by_phase</c> (tag <c>smpc.phase</c>), how many sessions are in each phase, from
/// <see cref="ISessionCensusGrain"/>, every phase reported (0 where the census has none) once the census has answered;
/// and <c>smpc.cluster.silos</c> (tag <c>smpc.silo.status</c>), the silos of the membership table by status, from
/// Orleans' management grain (Orleans 10 has no membership instruments of its own). Every gateway reports the same
/// values: aggregate with max, never sum.
/// </summary>
public sealed class ServiceGauges(IGrainFactory grains, SessionCensusOptions options, ILogger<ServiceGauges> logger) : BackgroundService
{
    private static readonly SessionPhase[] Phases = Enum.GetValues<SessionPhase>();
    private static readonly SiloStatus[] Statuses = [SiloStatus.Joining, SiloStatus.Active, SiloStatus.ShuttingDown, SiloStatus.Stopping, SiloStatus.Dead];
    private static volatile IReadOnlyDictionary<SiloStatus, int>? _silos;
    private static readonly ObservableGauge<int> SilosGauge = SmpcTelemetry.Meter.CreateObservableGauge(
        SmpcTelemetry.ClusterSilosName, ObserveSilos, unit: "{silo}", description: "Silos in the cluster's membership table, by status (aggregate with max).");

    private static IEnumerable<Measurement<int>> ObserveSilos()
    {
        if (_silos is not { } silos) yield break;
        foreach (var status in Statuses)
            yield return new(silos.GetValueOrDefault(status), new KeyValuePair<string, object?>(SmpcTelemetry.SiloStatusTag, status.ToString()));
    }

    // One gauge per process (the meter is static); the most recent read of any host in the process is reported.
    private static volatile IReadOnlyDictionary<SessionPhase, long>? _latest;
    private static readonly ObservableGauge<long> Gauge = SmpcTelemetry.Meter.CreateObservableGauge(
        SmpcTelemetry.SessionsByPhaseName, Observe, unit: "{session}", description: "Sessions of the service in each phase (from the session census; aggregate with max).");

    /// <summary>The last counts read, or null before the census first answered.</summary>
    public static IReadOnlyDictionary<SessionPhase, long>? Latest => _latest;

    private static IEnumerable<Measurement<long>> Observe()
    {
        if (_latest is not { } counts) yield break;
        foreach (var phase in Phases)
            yield return new(counts.GetValueOrDefault(phase), new KeyValuePair<string, object?>(SmpcTelemetry.PhaseTag, phase.ToString()));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _ = (Gauge, SilosGauge); // created with the first host that reads the cluster
        await Task.Yield(); // never hold up start-up
        var interval = TimeSpan.FromSeconds(Math.Clamp(options.RefreshSeconds, 1, 3600));
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: false).WaitAsync(stoppingToken);
                _silos = hosts.Values.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
                _latest = await grains.GetGrain<ISessionCensusGrain>(ISessionCensusGrain.Key).GetCountsAsync().WaitAsync(stoppingToken);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The cluster may still be starting, or be unreachable: keep the last counts and try again.
                if (failures++ == 30) logger.LogWarning("The session census or the cluster's membership could not be read ({Error}); the gauges keep their last values.", ex.GetType().Name + ": " + ex.Message);
            }

            try
            {
                // Sooner while the cluster has not answered yet (the silo is starting), for half a minute.
                await Task.Delay(failures is > 0 and < 30 ? TimeSpan.FromSeconds(1) : interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

/// <summary>Registers <see cref="ServiceGauges"/>.</summary>
public static class ServiceGaugesExtensions
{
    /// <summary>Adds the gauges' background reader (in processes that can reach grains: gateways and silos serving REST).</summary>
    public static IHostApplicationBuilder AddServiceGauges(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(builder.Configuration.GetSection(SessionCensusOptions.Section).Get<SessionCensusOptions>() ?? new SessionCensusOptions());
        builder.Services.AddHostedService<ServiceGauges>();
        return builder;
    }
}
