using System.Diagnostics.Metrics;
using Smpc.Grains.Interfaces.Diagnostics;
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
/// The observable gauge <c>smpc.sessions.by_phase</c> (tag <c>smpc.phase</c>): how many sessions of the whole service are
/// in each phase, read from <see cref="ISessionCensusGrain"/> in the background (the gauge's callback never calls a
/// grain, it reports the last read). Every phase is reported, with 0 where the census has none, once the census has
/// answered; nothing before. Every gateway reports the same service-wide value: aggregate with max, never sum.
/// </summary>
public sealed class SessionsByPhaseGauge(IGrainFactory grains, SessionCensusOptions options, ILogger<SessionsByPhaseGauge> logger) : BackgroundService
{
    private static readonly SessionPhase[] Phases = Enum.GetValues<SessionPhase>();

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
        _ = Gauge; // created with the first host that reads the census
        await Task.Yield(); // never hold up start-up
        var interval = TimeSpan.FromSeconds(Math.Clamp(options.RefreshSeconds, 1, 3600));
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
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
                if (failures++ == 3) logger.LogWarning("The session census could not be read ({Error}); the sessions-by-phase gauge keeps its last value.", ex.GetType().Name + ": " + ex.Message);
            }

            try
            {
                // Sooner while the census has not answered yet (the silo is starting).
                await Task.Delay(_latest is null ? TimeSpan.FromSeconds(1) : interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

/// <summary>Registers <see cref="SessionsByPhaseGauge"/>.</summary>
public static class SessionsByPhaseGaugeExtensions
{
    /// <summary>Adds the gauge's background reader (in processes that can reach grains: gateways and silos serving REST).</summary>
    public static IHostApplicationBuilder AddSessionsByPhaseGauge(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(builder.Configuration.GetSection(SessionCensusOptions.Section).Get<SessionCensusOptions>() ?? new SessionCensusOptions());
        builder.Services.AddHostedService<SessionsByPhaseGauge>();
        return builder;
    }
}
