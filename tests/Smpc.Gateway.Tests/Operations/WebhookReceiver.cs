using System.Net;
using Smpc.TestSupport;

namespace Smpc.Gateway.Tests.Operations;

/// <summary>A loopback HTTP receiver that answers every webhook delivery 204 and counts them.</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly Task _loop;
    private int _received;

    private WebhookReceiver(HttpListener listener, string url)
    {
        _listener = listener;
        Url = url;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The URL to register.</summary>
    public string Url { get; }

    /// <summary>Deliveries received so far.</summary>
    public int Received => Volatile.Read(ref _received);

    public static Task<WebhookReceiver> StartAsync() => BindConflict.RetryAsync(() =>
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}/hooks/";
        var listener = new HttpListener();
        listener.Prefixes.Add(url);
        listener.Start();
        return Task.FromResult(new WebhookReceiver(listener, url));
    });

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (!_listener.IsListening)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }

            using (var reader = new StreamReader(context.Request.InputStream)) await reader.ReadToEndAsync();
            Interlocked.Increment(ref _received);
            context.Response.StatusCode = 204;
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        try { await _loop; } catch (Exception) { }
    }
}
