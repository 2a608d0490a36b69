using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Smpc.Contracts;

namespace Smpc.Client;

public sealed partial class SmpcClient
{
    /// <summary>Spooled uploads up to this size stay in memory; larger ones go to a temporary file.</summary>
    private const long InMemorySpoolBytes = 8 << 20;

    /// <summary>How this client's streamed uploads and downloads retry transient failures (see <see cref="TransferRetryPolicy"/>).</summary>
    public TransferRetryPolicy Transfers { get; init; } = TransferRetryPolicy.Default;

    /// <summary>The same client with another transfer retry policy (e.g. one whose <c>OnRetry</c> writes to the agent's log).</summary>
    public SmpcClient WithTransfers(TransferRetryPolicy policy) => new(http, apiKey) { Transfers = policy, ModellerIdentity = ModellerIdentity };

    /// <summary>
    /// Downloads <paramref name="path"/>, handing every byte to <paramref name="write"/> exactly once and in order. After a
    /// transient failure (a cut connection mid-body, 5xx, 429) it asks for the rest with <c>Range: bytes=n-</c> and goes on; at
    /// the end it checks the length and the <c>Repr-Digest</c> SHA-256 of the whole. Returns the byte count.
    /// </summary>
    private async Task<long> ReceiveAsync(string transfer, string path, Func<ReadOnlyMemory<byte>, Task> write, CancellationToken ct)
    {
        using var activity = Activity.StartActivity(transfer, ActivityKind.Client);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        long received = 0;
        long? total = null;
        string? digest = null;
        var consumerFailed = false;
        var retry = new RetryState(this, transfer, activity);
        while (true)
        {
            try
            {
                using var request = Request(HttpMethod.Get, path);
                if (received > 0) request.Headers.Range = new RangeHeaderValue(received, null);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
                await EnsureSuccessAsync(response, ct);
                var responseDigest = response.Headers.TryGetValues("Repr-Digest", out var values) ? string.Join(",", values) : null;
                long skip = 0;
                if (received == 0 && total is null)
                {
                    total = response.Content.Headers.ContentLength;
                    digest = responseDigest;
                }
                else if (responseDigest != digest)
                {
                    throw new InvalidDataException($"{transfer}: the payload changed while it was downloaded (Repr-Digest {responseDigest}, was {digest}).");
                }
                else if (response.StatusCode == HttpStatusCode.PartialContent)
                {
                    if (response.Content.Headers.ContentRange is not { From: { } from, Length: { } length } || from != received || length != total)
                        throw new InvalidDataException($"{transfer}: asked for bytes {received}- of {total}, got {response.Content.Headers.ContentRange}.");
                }
                else
                {
                    skip = received; // a gateway that ignores Range sends the whole again: drop what was already handed over
                }

                await using var body = await response.Content.ReadAsStreamAsync(ct);
                while (true)
                {
                    var n = await body.ReadAsync(buffer, ct);
                    if (n == 0) break;
                    var from = (int)Math.Min(n, skip);
                    skip -= from;
                    if (from == n) continue;
                    var fresh = buffer.AsMemory(from, n - from);
                    try
                    {
                        await write(fresh);
                    }
                    catch
                    {
                        consumerFailed = true; // the caller's failure (a refused element, a full disk) is not the network's: no retry
                        throw;
                    }

                    hash.AppendData(fresh.Span);
                    received += fresh.Length;
                    retry.Progressed();
                }

                if (total is { } t && received != t) throw new IOException($"{transfer}: the body ended after {received} of {t} bytes.");
                break;
            }
            catch (Exception ex) when (!consumerFailed && retry.ShouldRetry(ex, ct))
            {
                await retry.WaitAsync(ex, received, ct);
            }
        }

        if (digest is not null && !digest.Contains($":{Convert.ToBase64String(hash.GetHashAndReset())}:", StringComparison.Ordinal))
            throw new InvalidDataException($"{transfer}: the {received} bytes received do not match the payload's digest {digest}.");
        activity?.SetTag("smpc.bytes", received);
        activity?.SetTag("smpc.transfer.retries", retry.Count);
        return received;
    }

    /// <summary>
    /// Sends a streamed upload step and reads its session answer. A transient failure sends the whole body again (the
    /// <paramref name="content"/> factory makes a fresh one per try); every upload step is idempotent for identical bytes. When a
    /// retry is refused as wrong-phase because the first try was stored and the session moved on (its answer was lost),
    /// <paramref name="stored"/> recognises the step as done from the session's state.
    /// </summary>
    private async Task<SessionResponse> SendUploadAsync(
        string transfer, string tenantId, string sessionId, string path, Func<HttpContent> content, Func<SessionResponse, bool>? stored, CancellationToken ct)
    {
        using var activity = Activity.StartActivity(transfer, ActivityKind.Client);
        activity?.SetTag("smpc.session", sessionId);
        var retry = new RetryState(this, transfer, activity);
        while (true)
        {
            try
            {
                using var request = Request(HttpMethod.Put, path);
                request.Content = content();
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
                var answer = await ReadAsync<SessionResponse>(response, ct);
                activity?.SetTag("smpc.transfer.retries", retry.Count);
                return answer;
            }
            catch (SmpcApiException ex) when (ex.Type == ProblemTypes.WrongPhase && stored is not null)
            {
                var session = await Transient.RetryAsync(() => GetSessionAsync(tenantId, sessionId, ct), ct);
                if (!stored(session)) throw;
                activity?.AddEvent(new ActivityEvent("already-stored"));
                activity?.SetTag("smpc.transfer.retries", retry.Count);
                return session;
            }
            catch (Exception ex) when (retry.ShouldRetry(ex, ct))
            {
                await retry.WaitAsync(ex, 0, ct);
                retry.Progressed(); // a new try of a whole upload is progress of its own
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/> once into a spool (memory up to 8 MiB, else a temporary file deleted on close), so a
    /// retried upload sends the same bytes again without running the writer twice (blinding, for one, is randomised).
    /// </summary>
    private static async Task<Stream> SpoolAsync(Func<Stream, Task> write, long? length, CancellationToken ct)
    {
        Stream spool = length is { } l && l <= InMemorySpoolBytes
            ? new MemoryStream((int)l)
            : new FileStream(Path.Combine(Path.GetTempPath(), $"smpc-upload-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew, FileAccess.ReadWrite,
                FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            await write(spool);
            await spool.FlushAsync(ct);
            spool.Position = 0;
            return spool;
        }
        catch
        {
            await spool.DisposeAsync();
            throw;
        }
    }

    /// <summary>The retry budget of one transfer: counts retries, tracks progress, backs off, reports.</summary>
    private sealed class RetryState(SmpcClient client, string transfer, Activity? activity)
    {
        private readonly Stopwatch _sinceProgress = Stopwatch.StartNew();
        private TimeSpan _backoff = TimeSpan.Zero;

        public int Count { get; private set; }

        public void Progressed()
        {
            _sinceProgress.Restart();
            _backoff = TimeSpan.Zero;
        }

        public bool ShouldRetry(Exception ex, CancellationToken ct)
        {
            var policy = client.Transfers;
            return IsTransient(ex, ct) && Count < policy.MaxRetries && _sinceProgress.Elapsed < policy.MaxStall;
        }

        public async Task WaitAsync(Exception ex, long resumeAt, CancellationToken ct)
        {
            var policy = client.Transfers;
            Count++;
            _backoff = Transient.Next(_backoff);
            var delay = _backoff;
            var reason = ex is SmpcApiException api ? $"{(int)api.Status} {api.Title}" : $"{ex.GetType().Name}: {ex.Message}";
            activity?.AddEvent(new ActivityEvent("retry", tags: new ActivityTagsCollection
            {
                ["smpc.transfer.retry"] = Count,
                ["smpc.transfer.resume_at"] = resumeAt,
                ["smpc.transfer.reason"] = ex.GetType().Name,
            }));
            policy.OnRetry?.Invoke(new TransferRetry(transfer, Count, policy.MaxRetries, resumeAt, delay, reason));
            await Task.Delay(delay, ct);
        }

        /// <summary>Network failures (also a body cut mid-read), client timeouts, 5xx and 429 but a used-up daily quota.</summary>
        private static bool IsTransient(Exception ex, CancellationToken ct) =>
            !ct.IsCancellationRequested && ex switch
            {
                SmpcApiException { Type: ProblemTypes.QuotaExceeded } => false,
                IOException => true,
                _ => Transient.Is(ex, ct),
            };
    }
}
