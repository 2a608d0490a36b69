namespace Smpc.Client;

/// <summary>
/// How a streamed upload or download (PSI sets and replies, masked vectors, releases, payloads) survives a cut connection or a
/// briefly unavailable service: at most <see cref="MaxRetries"/> retries per transfer, none once <see cref="MaxStall"/> has
/// passed without a byte of progress, exponential backoff from 200 ms to 30 s, and every
/// retry reported to <see cref="OnRetry"/> and as a <c>retry</c> event on the transfer's span.
/// </summary>
public sealed record TransferRetryPolicy
{
    /// <summary>The policy clients start with: 8 retries, 2 minutes without progress.</summary>
    public static TransferRetryPolicy Default { get; } = new();

    /// <summary>No retries: the first failure surfaces (for callers that retry whole steps themselves).</summary>
    public static TransferRetryPolicy None { get; } = new() { MaxRetries = 0 };

    /// <summary>How many times one transfer is retried before its last failure surfaces.</summary>
    public int MaxRetries { get; init; } = 8;

    /// <summary>How long a transfer may go without progress (bytes received, or a try begun) before it stops retrying.</summary>
    public TimeSpan MaxStall { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Called before each retry (after the backoff is chosen, before waiting it out); for progress lines and warnings.</summary>
    public Action<TransferRetry>? OnRetry { get; init; }
}
