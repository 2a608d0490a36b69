namespace Smpc.Client;

/// <summary>
/// One retry of a streamed transfer: which transfer (e.g. <c>psi.query.download</c>), the retry's number and the most allowed,
/// the byte offset it resumes from (0 for an upload, which is sent again whole), the backoff and the failure that caused it.
/// </summary>
public sealed record TransferRetry(string Transfer, int Retry, int MaxRetries, long ResumeAt, TimeSpan Delay, string Reason)
{
    /// <summary>A one-line warning for logs and progress output.</summary>
    public override string ToString() =>
        $"WARNING: {Transfer} failed ({Reason}); retry {Retry}/{MaxRetries} in {Delay.TotalSeconds:0.#}s"
        + (ResumeAt > 0 ? $", resuming at byte {ResumeAt}" : "");
}
