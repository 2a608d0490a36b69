using System.Net.Http.Json;

namespace Smpc.Client;

/// <summary>
/// Sends every request to the current one of several equivalent REST gateways (same path base, any of them serves any
/// request) and moves on to the next when a gateway cannot be reached.
/// </summary>
/// <remarks>
/// The request's scheme, host and port are replaced by the current gateway's; its path and query are kept. On a connection
/// failure every later request goes to the next gateway. When nothing of the request can have reached the failed gateway
/// (it refused or never accepted the connection) and its body can be sent again, the request is retried at once on the next
/// gateway, each gateway at most once per request; otherwise the failure is rethrown, so the caller's retry logic (see
/// <see cref="Transient"/>) decides whether the call may be issued again. Safe for concurrent requests.
/// </remarks>
public sealed class GatewayFailoverHandler : DelegatingHandler
{
    private readonly Uri[] _gateways;
    private int _current;

    /// <summary>Fails over between <paramref name="gateways"/> (absolute URIs), starting at index <paramref name="first"/>, over a new <see cref="SocketsHttpHandler"/>.</summary>
    public GatewayFailoverHandler(IReadOnlyList<Uri> gateways, int first = 0)
        : this(gateways, first, new SocketsHttpHandler())
    {
    }

    /// <summary>Fails over between <paramref name="gateways"/> (absolute URIs), starting at index <paramref name="first"/>, sending through <paramref name="innerHandler"/>.</summary>
    public GatewayFailoverHandler(IReadOnlyList<Uri> gateways, int first, HttpMessageHandler innerHandler)
        : base(innerHandler)
    {
        ArgumentNullException.ThrowIfNull(gateways);
        if (gateways.Count == 0) throw new ArgumentException("At least one gateway is needed.", nameof(gateways));
        if (gateways.Any(g => g is null || !g.IsAbsoluteUri)) throw new ArgumentException("Gateways are absolute URIs.", nameof(gateways));
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(first, gateways.Count);
        _gateways = [.. gateways];
        _current = first;
    }

    /// <summary>The gateways, in failover order.</summary>
    public IReadOnlyList<Uri> Gateways => _gateways;

    /// <summary>The gateway requests go to now.</summary>
    public Uri Current => _gateways[Volatile.Read(ref _current)];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var target = request.RequestUri ?? new Uri("/", UriKind.Relative);
        var tried = new bool[_gateways.Length];
        var index = Volatile.Read(ref _current);
        while (true)
        {
            tried[index] = true;
            request.RequestUri = OnGateway(target, _gateways[index]);
            try
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsConnectionFailure(ex, cancellationToken))
            {
                var next = NextUntried(tried, index);
                // Move every later request off the failed gateway, unless a concurrent request already moved on.
                Interlocked.CompareExchange(ref _current, next ?? (index + 1) % _gateways.Length, index);
                if (next is null || !NothingSent(ex) || !TransientRetryHandler.IsReplayable(request.Content)) throw;
                index = next.Value;
            }
        }
    }

    /// <summary><paramref name="target"/> with the scheme, host and port of <paramref name="gateway"/> (a relative target is resolved against it).</summary>
    private static Uri OnGateway(Uri target, Uri gateway)
    {
        if (!target.IsAbsoluteUri) return new Uri(gateway, target);
        return new UriBuilder(target) { Scheme = gateway.Scheme, Host = gateway.Host, Port = gateway.Port }.Uri;
    }

    private int? NextUntried(bool[] tried, int failed)
    {
        for (var step = 1; step < _gateways.Length; step++)
        {
            var candidate = (failed + step) % _gateways.Length;
            if (!tried[candidate]) return candidate;
        }

        return null;
    }

    /// <summary>The gateway could not be reached or dropped the connection (not the caller's cancellation or timeout).</summary>
    private static bool IsConnectionFailure(Exception ex, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested && (ex is HttpRequestException || IsConnectTimeout(ex));

    /// <summary>SocketsHttpHandler's ConnectTimeout: a cancellation with an inner <see cref="TimeoutException"/> the caller did not ask for.</summary>
    private static bool IsConnectTimeout(Exception ex) => ex is OperationCanceledException { InnerException: TimeoutException };

    /// <summary>True when the connection was never established: refused, unreachable, unresolvable, timed out or failed its TLS handshake.</summary>
    private static bool NothingSent(Exception ex) =>
        IsConnectTimeout(ex)
        || ex is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError };
}
