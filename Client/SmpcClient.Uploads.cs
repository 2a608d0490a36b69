using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Smpc.Contracts;

namespace Smpc.Client;

public sealed partial class SmpcClient
{
    /// <summary>How long a client over several gateways waits for a connection before it tries the next gateway.</summary>
    private static readonly TimeSpan GatewayConnectTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A client of a service behind several gateways: requests go to one gateway and fail over to the next when it cannot be
    /// reached (see <see cref="GatewayFailoverHandler"/>). The client lives as long as the process; it is not disposed.
    /// </summary>
    public static SmpcClient ForGateways(IReadOnlyList<Uri> gateways, string? apiKey = null, TimeSpan? timeout = null, int first = 0)
    {
        var inner = new SocketsHttpHandler { ConnectTimeout = GatewayConnectTimeout, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        var failover = new GatewayFailoverHandler(gateways, first, inner);
        var baseAddress = gateways[first].AbsoluteUri.EndsWith('/') ? gateways[first] : new Uri(gateways[first].AbsoluteUri + "/");
        var http = new HttpClient(failover) { BaseAddress = baseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        return new SmpcClient(http, apiKey);
    }

    /// <summary>
    /// The client the agent and the <c>smpc</c> commands use: fails over between gateways (<see cref="ForGateways"/>) and
    /// retries requests that can be sent again while the service is briefly unavailable (<see cref="TransientRetryHandler"/>).
    /// </summary>
    /// <param name="gateways">One or more gateways (absolute URIs).</param>
    /// <param name="apiKey">The key to act with (null: anonymous).</param>
    /// <param name="timeout">How long one call may take, retries included (default 5 minutes).</param>
    /// <param name="retryFor">How long one request keeps retrying (default <see cref="TransientRetryHandler.MaxElapsed"/>'s).</param>
    /// <param name="onRetry">Called before each retry, e.g. to print progress.</param>
    public static SmpcClient Resilient(
        IReadOnlyList<Uri> gateways, string? apiKey = null, TimeSpan? timeout = null, TimeSpan? retryFor = null, Action<HttpStatusCode?, Exception?>? onRetry = null)
    {
        var inner = new SocketsHttpHandler { ConnectTimeout = GatewayConnectTimeout, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        var failover = new GatewayFailoverHandler(gateways, 0, inner);
        var retry = retryFor is { } budget
            ? new TransientRetryHandler(failover) { OnRetry = onRetry, MaxElapsed = budget }
            : new TransientRetryHandler(failover) { OnRetry = onRetry };
        var baseAddress = gateways[0].AbsoluteUri.EndsWith('/') ? gateways[0] : new Uri(gateways[0].AbsoluteUri + "/");
        return new SmpcClient(new HttpClient(retry) { BaseAddress = baseAddress, Timeout = timeout ?? TimeSpan.FromMinutes(5) }, apiKey);
    }

    /// <summary>Parses one gateway URL or several separated by commas (e.g. <c>SMPC_URL=http://gw1:8080,http://gw2:8080</c>).</summary>
    public static IReadOnlyList<Uri> ParseGateways(string urls) =>
        [.. urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => new Uri(u.TrimEnd('/') + "/"))];

    /// <summary>Begins a resumable upload of a payload; its chunks are then sent with <see cref="PutUploadChunkAsync"/>.</summary>
    public Task<ResumableUploadResponse> BeginResumableUploadAsync(string tenantId, string sessionId, string name, CancellationToken ct = default) =>
        SendAsync<ResumableUploadResponse>(HttpMethod.Post, UploadsPath(tenantId, sessionId, name), null, ct);

    /// <summary>How far a resumable upload got: resume at chunk <c>ChunksStored</c>.</summary>
    public Task<ResumableUploadResponse> GetResumableUploadAsync(string tenantId, string sessionId, string name, Guid uploadId, CancellationToken ct = default) =>
        SendAsync<ResumableUploadResponse>(HttpMethod.Get, UploadPath(tenantId, sessionId, name, uploadId), null, ct);

    /// <summary>Sends chunk <paramref name="index"/> of a resumable upload (exactly <c>ChunkBytes</c> bytes but for the last).</summary>
    public async Task<ResumableUploadResponse> PutUploadChunkAsync(
        string tenantId, string sessionId, string name, Guid uploadId, int index, ReadOnlyMemory<byte> chunk, CancellationToken ct = default)
    {
        using var request = Request(HttpMethod.Put, $"{UploadPath(tenantId, sessionId, name, uploadId)}/chunks/{index}");
        request.Content = new ReadOnlyMemoryContent(chunk);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await http.SendAsync(request, ct);
        return await ReadAsync<ResumableUploadResponse>(response, ct);
    }

    /// <summary>Completes a resumable upload; the service checks the stored chunks against <paramref name="length"/> and <paramref name="sha256"/> (hex). Retrying is idempotent.</summary>
    public Task<PayloadResponse> CompleteResumableUploadAsync(
        string tenantId, string sessionId, string name, Guid uploadId, long length, string sha256, CancellationToken ct = default) =>
        SendAsync<PayloadResponse>(HttpMethod.Post, $"{UploadPath(tenantId, sessionId, name, uploadId)}/complete", new CompleteUploadRequest(length, sha256), ct);

    /// <summary>
    /// Uploads <paramref name="content"/> (seekable; from its position to its end) as a payload, one chunk per request. After a
    /// transient failure it backs off, asks the service how far the upload got and goes on from there, so no chunk the service
    /// stored is sent again, whichever gateway stored it. A daily quota that is used up is not waited out: it fails the upload.
    /// </summary>
    public async Task<ResumableUploadResult> UploadPayloadResumableAsync(
        string tenantId, string sessionId, string name, Stream content, Func<ResumableUploadProgress, Task>? onProgress = null, CancellationToken ct = default)
    {
        RequireSeekable(content);
        var sha256 = await HashAsync(content, ct);
        var upload = await Transient.RetryAsync(() => BeginResumableUploadAsync(tenantId, sessionId, name, ct), ct);
        return await SendChunksAsync(tenantId, sessionId, name, upload, content, sha256, onProgress, ct);
    }

    /// <summary>
    /// Resumes an upload begun earlier (by this or another process, e.g. one that was stopped): sends only the chunks of
    /// <paramref name="content"/> the service does not hold yet, then completes it.
    /// </summary>
    public async Task<ResumableUploadResult> ResumePayloadUploadAsync(
        string tenantId, string sessionId, string name, Guid uploadId, Stream content, Func<ResumableUploadProgress, Task>? onProgress = null, CancellationToken ct = default)
    {
        RequireSeekable(content);
        var sha256 = await HashAsync(content, ct);
        var upload = await Transient.RetryAsync(() => GetResumableUploadAsync(tenantId, sessionId, name, uploadId, ct), ct);
        return await SendChunksAsync(tenantId, sessionId, name, upload, content, sha256, onProgress, ct);
    }

    private async Task<ResumableUploadResult> SendChunksAsync(
        string tenantId, string sessionId, string name, ResumableUploadResponse upload, Stream content, string sha256,
        Func<ResumableUploadProgress, Task>? onProgress, CancellationToken ct)
    {
        using var activity = Activity.StartActivity("payload.upload.resumable", ActivityKind.Client);
        activity?.SetTag("smpc.session", sessionId);
        activity?.SetTag("smpc.payload", name);
        var start = content.Position;
        var length = content.Length - start;
        var chunkBytes = upload.ChunkBytes;
        if (chunkBytes <= 0) throw new InvalidOperationException($"The service announced a chunk size of {chunkBytes} bytes.");
        var chunks = (int)((length + chunkBytes - 1) / chunkBytes);
        var stored = upload.ChunksStored;
        var completed = upload.Completed;
        int sent = 0, resumes = 0;
        var backoff = TimeSpan.Zero;
        var buffer = new byte[(int)Math.Min(chunkBytes, Math.Max(length, 1))];
        while (!completed && stored < chunks)
        {
            var offset = (long)stored * chunkBytes;
            var size = (int)Math.Min(chunkBytes, length - offset);
            content.Position = start + offset;
            await content.ReadExactlyAsync(buffer.AsMemory(0, size), ct);
            ResumableUploadResponse status;
            try
            {
                sent++;
                status = await PutUploadChunkAsync(tenantId, sessionId, name, upload.UploadId, stored, buffer.AsMemory(0, size), ct);
                backoff = TimeSpan.Zero;
            }
            catch (Exception ex) when (Transient.Is(ex, ct) && ex is not SmpcApiException { Type: ProblemTypes.QuotaExceeded })
            {
                // The chunk may or may not have been stored (the gateway may have died after storing it): ask, and go on from there.
                backoff = Transient.Next(backoff);
                await Task.Delay(backoff, ct);
                status = await Transient.RetryAsync(() => GetResumableUploadAsync(tenantId, sessionId, name, upload.UploadId, ct), ct);
                resumes++;
                activity?.AddEvent(new ActivityEvent("resumed", tags: new ActivityTagsCollection { ["smpc.chunk.index"] = status.ChunksStored }));
            }

            if (status.ChunksStored > chunks || status.BytesStored > length)
                throw new InvalidOperationException($"The service holds {status.ChunksStored} chunks ({status.BytesStored} bytes) of an upload of {chunks} chunks ({length} bytes): not this content.");
            stored = status.ChunksStored;
            completed = status.Completed;
            if (onProgress is not null) await onProgress(new ResumableUploadProgress(upload.UploadId, stored, status.BytesStored, sent, resumes));
        }

        // A completion whose answer was lost is retried: the service answers the same payload again.
        var payload = await Transient.RetryAsync(() => CompleteResumableUploadAsync(tenantId, sessionId, name, upload.UploadId, length, sha256, ct), ct);
        content.Position = start + length;
        return new ResumableUploadResult(payload, chunks, sent, resumes);
    }

    private static void RequireSeekable(Stream content)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (!content.CanRead || !content.CanSeek) throw new ArgumentException("A resumable upload reads a readable, seekable stream.", nameof(content));
    }

    /// <summary>The lower-case hex SHA-256 of the rest of <paramref name="content"/>; its position is left where it was.</summary>
    private static async Task<string> HashAsync(Stream content, CancellationToken ct)
    {
        var start = content.Position;
        var hash = await SHA256.HashDataAsync(content, ct);
        content.Position = start;
        return Convert.ToHexStringLower(hash);
    }

    private static string UploadsPath(string tenantId, string sessionId, string name) => PayloadPath(tenantId, sessionId, name) + "/uploads";

    private static string UploadPath(string tenantId, string sessionId, string name, Guid uploadId) => $"{UploadsPath(tenantId, sessionId, name)}/{uploadId:D}";
}
