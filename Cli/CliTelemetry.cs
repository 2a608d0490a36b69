using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Smpc.Cli;

/// <summary>
/// Traces of the pod agent and the modeller commands (source Smpc.Client and their HTTP calls), exported with OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, so one session's steps on every machine form one trace with the service's.
/// </summary>
public static class CliTelemetry
{
    public static IDisposable? Start()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"))) return null;
        return Sdk.CreateTracerProviderBuilder()
            .ConfigureResource(r => r.AddService("smpc-cli"))
            .AddSource(Smpc.Client.SmpcClient.Activity.Name)
            .AddHttpClientInstrumentation()
            .AddOtlpExporter()
            .Build();
    }
}
