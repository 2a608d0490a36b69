using System.Diagnostics;
using System.Net;

namespace Smpc.Cli;

/// <summary>
/// Progress lines while the client retries an unreachable or unavailable service: the first failure of a streak at once (so
/// a wrong address is reported within the connect timeout, ≤ 3 s), then one line every 5 s until the retry budget runs out.
/// </summary>
public sealed class RetryProgress(string url, TimeSpan budget, TextWriter output)
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(5);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private TimeSpan _streakStart;
    private TimeSpan _lastCall = TimeSpan.MinValue;
    private TimeSpan _lastLine;

    /// <summary>Called by the retry handler before each retry.</summary>
    public void Report(HttpStatusCode? status, Exception? error)
    {
        lock (_lock)
        {
            var now = _clock.Elapsed;
            var why = status is { } s ? $"answers {(int)s} {s}" : $"cannot be reached ({Innermost(error)?.Message})";
            // Retries follow each other within the longest backoff (30 s); a longer quiet spell means the service came back.
            var newStreak = _lastCall == TimeSpan.MinValue || now - _lastCall > TimeSpan.FromSeconds(35);
            _lastCall = now;
            if (newStreak)
            {
                _streakStart = _lastLine = now;
                output.WriteLine($"smpc: {url} {why}; retrying for up to {budget.TotalSeconds:F0} s (Ctrl+C stops; --retry-for sets how long)…");
            }
            else if (now - _lastLine >= Every)
            {
                _lastLine = now;
                output.WriteLine($"smpc: {url} still {why} after {(now - _streakStart).TotalSeconds:F0} s; retrying…");
            }
        }
    }

    private static Exception? Innermost(Exception? e)
    {
        while (e?.InnerException is { } inner) e = inner;
        return e;
    }
}
