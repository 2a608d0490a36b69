using System.Net;
using System.Net.Http.Json;

namespace Smpc.Client;

/// <summary>
/// Retries a request while the service is briefly unavailable (a silo failing over, PostgreSQL restarting, a gateway
/// gone): network failures and connect timeouts, 502/503/504 and 429, with exponential backoff that honours <c>Retry-After</c>, for at most
/// <see cref="MaxElapsed"/>. Only requests whose body can be sent again are retried (none, bytes, strings, forms, memory, JSON); every
/// protocol step of the service is idempotent, so a retried step is safe. Streamed bodies are left to the caller.
/// </summary>
public sealed class TransientRetryHandler : DelegatingHandler
{
    /// <summary>How long one request may keep retrying before the last failure is returned.</summary>
    public TimeSpan MaxElapsed { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Called before each retry with the failure (status or exception) that caused it; for logging and tests.</summary>
    public Action<HttpStatusCode?, Exception?>? OnRetry { get; init; }

    /// <summary>A handler over a fresh <see cref="SocketsHttpHandler"/>.</summary>
    public TransientRetryHandler() : base(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5) }) { }

    /// <summary>A handler over <paramref name="inner"/> (e.g. a <c>GatewayFailoverHandler</c>).</summary>
    public TransientRetryHandler(HttpMessageHandler inner) : base(inner) { }

    /// <summary>True when a request can be sent again as it is.</summary>
    public static bool IsReplayable(HttpContent? content) => content is null or ByteArrayContent or ReadOnlyMemoryContent or JsonContent;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!IsReplayable(request.Content)) return await base.SendAsync(request, cancellationToken);
        if (request.Content is not null) await request.Content.LoadIntoBufferAsync(cancellationToken);

        var started = System.Diagnostics.Stopwatch.StartNew();
        var backoff = TimeSpan.Zero;
        while (true)
        {
            HttpResponseMessage response;
            try
            {
                response = await base.SendAsync(request, cancellationToken);
            }
            catch (Exception ex) when ((ex is HttpRequestException || IsConnectTimeout(ex)) && !cancellationToken.IsCancellationRequested && started.Elapsed < MaxElapsed)
            {
                backoff = Transient.Next(backoff);
                OnRetry?.Invoke(null, ex);
                await Task.Delay(backoff, cancellationToken);
                continue;
            }

            if (!IsTransient(response.StatusCode) || started.Elapsed >= MaxElapsed) return response;
            // The service says when to come back (Retry-After); without it, back off exponentially.
            backoff = Transient.Next(backoff);
            var wait = response.Headers.RetryAfter?.Delta is { } delta ? delta : backoff;
            if (started.Elapsed + wait >= MaxElapsed) return response;
            OnRetry?.Invoke(response.StatusCode, null);
            response.Dispose();
            await Task.Delay(wait, cancellationToken);
        }
    }

    /// <summary>SocketsHttpHandler's ConnectTimeout (an address that does not answer): a cancellation the caller did not ask for.</summary>
    private static bool IsConnectTimeout(Exception ex) => ex is OperationCanceledException { InnerException: TimeoutException };

    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout or HttpStatusCode.TooManyRequests;
}
