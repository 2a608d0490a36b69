using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Smpc.TestSupport;

/// <summary>
/// A loopback TCP proxy in front of a service that drops chosen connections mid-stream: a rule names a substring of the request
/// line (e.g. <c>"PUT /v1/tenants/t/sessions/s/psi/query"</c>), a direction and a byte count; the first <c>times</c> connections
/// whose request line matches are reset once that many bytes went that way (headers included). Everything else is forwarded
/// untouched. Rules see each connection's first request line only, so clients send <c>Connection: close</c> (one request per
/// connection).
/// </summary>
public sealed class CuttingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Rule> _rules = [];
    private readonly List<string> _cuts = [];
    private readonly Task _accepting;

    /// <summary>Starts a proxy to the HTTP service at <paramref name="target"/> (an IP literal and port).</summary>
    public CuttingProxy(Uri target)
    {
        _target = new IPEndPoint(IPAddress.Parse(target.Host), target.Port);
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _accepting = AcceptAsync();
    }

    /// <summary>Where clients connect.</summary>
    public Uri Address { get; }

    /// <summary>The request lines of the connections cut so far, in order.</summary>
    public IReadOnlyList<string> Cuts
    {
        get
        {
            lock (_rules) return [.. _cuts];
        }
    }

    /// <summary>Drops the next <paramref name="times"/> connections whose request line contains <paramref name="requestLine"/> after <paramref name="afterBytes"/> bytes in <paramref name="direction"/>.</summary>
    public void Cut(string requestLine, CutDirection direction, long afterBytes, int times = 1)
    {
        lock (_rules) _rules.Add(new Rule(requestLine, direction, afterBytes) { Remaining = times });
    }

    /// <summary>How many cuts of the rules given so far have not happened yet.</summary>
    public int Pending
    {
        get
        {
            lock (_rules) return _rules.Sum(r => r.Remaining);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try { await _accepting; } catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { }
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = Task.Run(() => RelayAsync(client));
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var accepted = client;
        using var server = new TcpClient();
        try
        {
            await server.ConnectAsync(_target, _stop.Token);
            var fromClient = client.GetStream();
            var toServer = server.GetStream();
            // The request line decides which rule (if any) applies to this connection.
            var head = new List<byte>();
            var buffer = new byte[1 << 16];
            while (!head.Contains((byte)'\n'))
            {
                var n = await fromClient.ReadAsync(buffer, _stop.Token);
                if (n == 0) return;
                head.AddRange(buffer.AsSpan(0, n));
            }

            var line = Encoding.ASCII.GetString([.. head.TakeWhile(b => b != (byte)'\r' && b != (byte)'\n')]);
            Rule? rule;
            lock (_rules)
            {
                rule = _rules.FirstOrDefault(r => r.Remaining > 0 && line.Contains(r.RequestLine, StringComparison.Ordinal));
                if (rule is not null) rule.Remaining--;
            }

            using var cut = new CancellationTokenSource();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cut.Token, _stop.Token);
            var up = PumpAsync([.. head], fromClient, toServer, server.Client, rule?.Direction == CutDirection.ClientToServer ? rule.AfterBytes : null, cut, linked.Token);
            var down = PumpAsync([], server.GetStream(), client.GetStream(), client.Client, rule?.Direction == CutDirection.ServerToClient ? rule.AfterBytes : null, cut, linked.Token);
            await Task.WhenAll(up, down);
            if (cut.IsCancellationRequested)
            {
                lock (_rules) _cuts.Add(line);
                // A reset, not a graceful close: both ends see the connection fail mid-stream.
                client.Client.LingerState = new LingerOption(true, 0);
                server.Client.LingerState = new LingerOption(true, 0);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Copies one direction; with a limit, forwards exactly that many bytes and then cuts the connection both ways.</summary>
    private static async Task PumpAsync(byte[] first, Stream from, Stream to, Socket toSocket, long? limit, CancellationTokenSource cut, CancellationToken ct)
    {
        long sent = 0;
        var buffer = new byte[1 << 16];
        var pending = first.AsMemory();
        try
        {
            while (true)
            {
                if (pending.IsEmpty)
                {
                    var n = await from.ReadAsync(buffer, ct);
                    if (n == 0)
                    {
                        toSocket.Shutdown(SocketShutdown.Send); // pass the half-close on
                        return;
                    }

                    pending = buffer.AsMemory(0, n);
                }

                if (limit is { } max && sent + pending.Length >= max)
                {
                    await to.WriteAsync(pending[..(int)(max - sent)], ct);
                    await to.FlushAsync(ct);
                    await cut.CancelAsync();
                    return;
                }

                await to.WriteAsync(pending, ct);
                sent += pending.Length;
                pending = Memory<byte>.Empty;
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private sealed record Rule(string RequestLine, CutDirection Direction, long AfterBytes)
    {
        public int Remaining { get; set; }
    }
}
