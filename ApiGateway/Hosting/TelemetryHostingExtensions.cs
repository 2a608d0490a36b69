using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Smpc.Grains.Interfaces.Diagnostics;

namespace Smpc.ApiGateway.Hosting;

/// <summary>OpenTelemetry for every Smpc process: Smpc.* and Orleans sources, OTLP when configured, console on request.</summary>
public static class TelemetryHostingExtensions
{
    /// <summary>
    /// Adds tracing and metrics. OTLP is used when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; the console exporter when
    /// <c>Smpc:Telemetry:Console</c> is true; processes serving REST add the operator's Prometheus scrape endpoint
    /// (<see cref="PrometheusEndpoint"/>). Meters: Smpc (names in <see cref="SmpcTelemetry"/>), Microsoft.Orleans, and
    /// ASP.NET Core's hosting and Kestrel meters (<c>http.server.request.duration</c> by route template, method and status).
    /// </summary>
    public static IHostApplicationBuilder AddSmpcTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var console = builder.Configuration.GetValue<bool>("Smpc:Telemetry:Console");
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithTracing(tracing =>
            {
                tracing.AddSource(SmpcTelemetry.GrainsSourceName, SmpcTelemetry.GatewaySourceName, SmpcTelemetry.ClientSourceName, SmpcTelemetry.OrleansSources)
                    .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/health") && !PrometheusEndpoint.IsScrapeRequest(http))
                    .AddHttpClientInstrumentation();
                if (otlp) tracing.AddOtlpExporter();
                if (console) tracing.AddConsoleExporter();
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(SmpcTelemetry.MeterName, "Microsoft.Orleans").AddAspNetCoreInstrumentation();
                if (otlp) metrics.AddOtlpExporter();
                if (console) metrics.AddConsoleExporter();
            });
        builder.Services.AddHostedService<CounterBaseline>();
        return builder;
    }

    /// <summary>
    /// Exports the failure counters as 0 from the start (OpenTelemetry exports a counter only after its first measurement):
    /// a rate over a counter whose series appears at its first failure misses that failure, and alert rules and the
    /// dashboard find the series before anything failed.
    /// </summary>
    private sealed class CounterBaseline(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = services.GetService<MeterProvider>(); // built (and listening) before the zeros are recorded
            SmpcTelemetry.StorageFailures.Add(0);
            foreach (var quota in new[] { "concurrent_sessions", "payload_bytes", "psi_elements" })
                SmpcTelemetry.QuotaRejections.Add(0, new KeyValuePair<string, object?>(SmpcTelemetry.QuotaTag, quota));
            foreach (var limiter in new[] { "address", "credential" })
                SmpcTelemetry.RateLimitRejections.Add(0, new KeyValuePair<string, object?>(SmpcTelemetry.LimiterTag, limiter));
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
