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
        return builder;
    }
}
