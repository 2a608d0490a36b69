using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Smpc.TestSupport;

namespace Smpc.Integration.Tests;

/// <summary>
/// Metrics reach a configured OTLP endpoint, not only traces: mixed OpenTelemetry package versions once made the OTLP
/// exporter drop every metrics batch that held a histogram (MissingFieldException while serialising), silently.
/// </summary>
public sealed class OtlpExportTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "smpc-otlp-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task TracesAndMetrics_BothReachTheOtlpEndpoint_HistogramsIncluded()
    {
        var port = FreePort.Next();
        using var receiver = new HttpListener();
        receiver.Prefixes.Add($"http://127.0.0.1:{port}/");
        receiver.Start();
        var received = new ConcurrentQueue<(string Path, byte[] Body)>();
        var histogram = Encoding.UTF8.GetBytes("http.server.request.duration");
        var both = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(async () =>
        {
            while (receiver.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await receiver.GetContextAsync();
                }
                catch (Exception) when (!receiver.IsListening)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                received.Enqueue((context.Request.Url!.AbsolutePath, body.ToArray()));
                context.Response.StatusCode = 200;
                context.Response.Close();
                if (received.Any(r => r.Path == "/v1/traces") && received.Any(r => r.Path == "/v1/metrics" && r.Body.AsSpan().IndexOf(histogram) >= 0))
                    both.TrySetResult();
            }
        });

        var otlp = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "500",
        };
        await using var silo = await Services.StartEmbeddedAsync(_data, otlp);
        var client = Services.OperatorFor(silo);
        await Services.SeedAsync(client, "acme"); // requests: server-duration histograms, spans

        // The receiver signals once both have arrived; the bound only keeps a broken exporter from hanging the suite.
        try
        {
            await both.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            // the assertions below say what is missing
        }

        Assert.Contains(received, r => r.Path == "/v1/traces");
        Assert.Contains(received, r => r.Path == "/v1/metrics" && r.Body.AsSpan().IndexOf(histogram) >= 0);
    }

    public void Dispose()
    {
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }
}
