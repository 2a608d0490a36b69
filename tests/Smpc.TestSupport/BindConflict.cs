namespace Smpc.TestSupport;

/// <summary>Recognises a start that failed because another process took one of its ports first (the race <see cref="FreePort"/> cannot close).</summary>
public static class BindConflict
{
    /// <summary>How many starts a process gets before a lost port is taken as a real failure.</summary>
    public const int Attempts = 5;

    /// <summary>True when a process's output (Kestrel, Orleans or PostgreSQL) says a port was already in use.</summary>
    public static bool IsIn(string output) =>
        output.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
        || output.Contains("could not bind", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Runs an in-process start (which picks fresh ports each call and disposes what it built when it fails) again when
    /// it lost a port to another process; other failures are thrown.
    /// </summary>
    public static async Task<T> RetryAsync<T>(Func<Task<T>> start)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start();
            }
            catch (Exception e) when (attempt < Attempts && IsIn(e))
            {
            }
        }
    }

    /// <summary>True when an exception (or one it wraps) is a socket bind failing on a port in use.</summary>
    public static bool IsIn(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse }) return true;
            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(IsIn)) return true;
            if (IsIn(e.Message)) return true;
        }

        return false;
    }
}
