using System.Diagnostics;
using System.Net;

namespace Smpc.Cli;

/// <summary>
/// Progress lines while the client retries an unreachable or unavailable service: the first failure at once (so a wrong
/// address is reported within the connect timeout, ≤ 3 s), then one line every 5 s until the retry budget runs out.
/// </summary>
public sealed class RetryProgress(string url, TimeSpan budget, TextWriter output)
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(5);
    private readonly Stopwatch _since = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private TimeSpan? _lastLine;

    /// <summary>Called by the retry handler before each retry.</summary>
    public void Report(HttpStatusCode? status, Exception? error)
    {
        lock (_lock)
        {
            var now = _since.Elapsed;
            if (_lastLine is { } last && now - last < Every) return;
            _lastLine = now;
            var why = status is { } s ? $"answers {(int)s} {s}" : $"cannot be reached ({Innermost(error)?.Message})";
            output.WriteLine(_lastLine == now && now < Every
                ? $"smpc: {url} {why}; retrying for up to {budget.TotalSeconds:F0} s (Ctrl+C stops; --retry-for sets the budget)…"
                : $"smpc: {url} still {why} after {now.TotalSeconds:F0} s; retrying…");
        }
    }

    private static Exception? Innermost(Exception? e)
    {
        while (e?.InnerException is { } inner) e = inner;
        return e;
    }
}
