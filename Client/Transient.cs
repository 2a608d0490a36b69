using System.Net;

namespace Smpc.Client;

/// <summary>Which failures are worth retrying (the service or network is briefly unavailable), and how long to back off.</summary>
public static class Transient
{
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(30);

    /// <summary>True for network failures, timeouts and 5xx/429 problems; false for anything the caller must fix.</summary>
    public static bool Is(Exception ex, CancellationToken ct) => !ct.IsCancellationRequested && ex switch
    {
        HttpRequestException => true,
        TaskCanceledException => true,
        SmpcApiException api => (int)api.Status >= 500 || api.Status == HttpStatusCode.TooManyRequests,
        _ => false,
    };

    /// <summary>Exponential backoff from 200 ms to 30 s.</summary>
    public static TimeSpan Next(TimeSpan current) =>
        current == TimeSpan.Zero ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromTicks(Math.Min(current.Ticks * 2, Max.Ticks));

    /// <summary>Runs <paramref name="call"/> until it succeeds or fails with something not transient, backing off between tries.</summary>
    public static async Task<T> RetryAsync<T>(Func<Task<T>> call, CancellationToken ct)
    {
        var backoff = TimeSpan.Zero;
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception ex) when (Is(ex, ct))
            {
                backoff = Next(backoff);
                await Task.Delay(backoff, ct);
            }
        }
    }
}
