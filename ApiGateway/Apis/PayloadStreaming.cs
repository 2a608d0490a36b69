using System.Buffers;
using System.Security.Cryptography;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Payloads;

namespace Smpc.ApiGateway.Apis;

/// <summary>Streams request bodies into payload grains and payloads into responses, one fixed-size chunk at a time, so gateway memory stays bounded.</summary>
internal static class PayloadStreaming
{
    public const string OctetStream = "application/octet-stream";

    /// <summary>
    /// Sends the body as chunks of <paramref name="chunkBytes"/>, each counted against the tenant's quota by the payload grain
    /// as it is stored, the last one sealing the upload with its length and SHA-256: one grain call per chunk.
    /// </summary>
    public static async Task<PayloadManifest> UploadAsync(IPayloadGrain payload, Guid uploadId, Stream body, int chunkBytes, Hosting.MeteredUpload upload, CancellationToken cancellationToken) =>
        await UploadAsync(payload, uploadId, body, chunkBytes, upload, cancellationToken, allowEmpty: false) ?? throw SmpcException.Invalid("A payload must not be empty.");

    /// <summary>As above; with <paramref name="allowEmpty"/> an empty body completes nothing and returns null.</summary>
    public static async Task<PayloadManifest?> UploadAsync(
        IPayloadGrain payload, Guid uploadId, Stream body, int chunkBytes, Hosting.MeteredUpload upload, CancellationToken cancellationToken, bool allowEmpty)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(chunkBytes);
        var declared = upload.Quota.DeclaredBytes;
        long total = 0;
        var index = 0;
        PayloadManifest? manifest = null;
        try
        {
            while (true)
            {
                var filled = await body.ReadAtLeastAsync(buffer.AsMemory(0, chunkBytes), chunkBytes, throwOnEndOfStream: false, cancellationToken);
                if (filled == 0) break;
                var chunk = buffer.AsSpan(0, filled).ToArray();
                sha.AppendData(chunk);
                total += filled;
                // The last chunk is known without reading on when the body is short of a full chunk or reaches its declared length.
                var last = filled < chunkBytes || total == declared;
                var seal = last ? new UploadSeal(total, Convert.ToHexStringLower(sha.GetCurrentHash())) : null;
                manifest = upload.Check(await payload.WriteChunkAsync(uploadId, index++, chunk, upload.Quota, seal)).Manifest;
                if (last) break;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (total == 0) return allowEmpty ? null : throw SmpcException.Invalid("A payload must not be empty.");
        SmpcTelemetry.BytesRelayed.Add(total);
        // An undeclared body that ends on a chunk boundary is only known to have ended after its last chunk went.
        return manifest ?? await payload.CompleteAsync(uploadId, total, Convert.ToHexStringLower(sha.GetHashAndReset()));
    }

    /// <summary>
    /// Reads a whole body of 1..<paramref name="maxBytes"/> bytes (one chunk of a resumable upload). Call <see cref="AllowBody"/>
    /// first: Kestrel then refuses a longer undeclared body with 413 and a body shorter than its Content-Length with 400.
    /// </summary>
    public static async Task<byte[]> ReadChunkAsync(HttpContext http, int maxBytes)
    {
        var declared = http.Request.ContentLength;
        if (declared == 0) throw SmpcException.Invalid("A chunk must not be empty.");
        var buffer = new byte[declared ?? maxBytes];
        var filled = await http.Request.Body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, http.RequestAborted);
        if (filled == 0) throw SmpcException.Invalid("A chunk must not be empty.");
        if (declared is { } length && filled != length) throw SmpcException.Invalid($"The chunk ended after {filled} of its {length} bytes.");
        if (declared is null && filled == maxBytes && await http.Request.Body.ReadAsync(new byte[1], http.RequestAborted) > 0)
            throw new SmpcException(SmpcErrorCode.TooLarge, $"A chunk may hold at most {maxBytes} bytes.");
        return filled == buffer.Length ? buffer : buffer[..filled];
    }

    /// <summary>
    /// Writes a stored payload to the response with its length and RFC 9530 digest, prefetching one chunk ahead. A single
    /// <c>Range: bytes=a-b</c> (or <c>a-</c>, or <c>-n</c>) is answered 206 with <c>Content-Range</c>, so a client resumes a cut
    /// download where it stopped; the digest is always that of the whole payload. A range past the end is answered 416.
    /// </summary>
    public static async Task DownloadAsync(IPayloadGrain payload, HttpContext http)
    {
        var manifest = await payload.GetManifestAsync();
        http.Response.Headers.AcceptRanges = "bytes";
        http.Response.Headers["Repr-Digest"] = $"sha-256=:{Convert.ToBase64String(Convert.FromHexString(manifest.Sha256))}:";
        long first = 0, last = manifest.Length - 1;
        switch (ByteRange.Parse(http.Request.Headers.Range.ToString(), manifest.Length))
        {
            case { Satisfiable: false }:
                http.Response.Headers.ContentRange = $"bytes */{manifest.Length}";
                await Problems.ProblemMapping.Problem(StatusCodes.Status416RangeNotSatisfiable, ProblemTypes.RangeNotSatisfiable, "Range not satisfiable",
                    $"The payload holds {manifest.Length} bytes; ask for a range that starts before its end.").ExecuteAsync(http);
                return;
            case { } range:
                (first, last) = (range.First, range.Last);
                http.Response.StatusCode = StatusCodes.Status206PartialContent;
                http.Response.Headers.ContentRange = $"bytes {first}-{last}/{manifest.Length}";
                break;
        }

        http.Response.ContentType = OctetStream;
        http.Response.ContentLength = last - first + 1;
        // Skip whole chunks before the range, then the head of the first chunk sent.
        var index = 0;
        long chunkStart = 0;
        while (index < manifest.ChunkLengths.Count && chunkStart + manifest.ChunkLengths[index] <= first) chunkStart += manifest.ChunkLengths[index++];
        var next = index < manifest.ChunkLengths.Count ? payload.ReadChunkAsync(index) : null;
        for (var i = index; i < manifest.ChunkLengths.Count && chunkStart <= last; i++)
        {
            var chunk = await next!;
            if (i + 1 < manifest.ChunkLengths.Count && chunkStart + chunk.Length <= last) next = payload.ReadChunkAsync(i + 1);
            var from = (int)Math.Max(0, first - chunkStart);
            var to = (int)Math.Min(chunk.Length, last - chunkStart + 1);
            await http.Response.Body.WriteAsync(chunk.AsMemory(from, to - from), http.RequestAborted);
            chunkStart += chunk.Length;
        }

        SmpcTelemetry.BytesRelayed.Add(last - first + 1);
    }

    /// <summary>Raises the body limit of this request to <paramref name="limit"/>; false when the declared length is already over it.</summary>
    public static bool AllowBody(HttpContext http, long limit)
    {
        // A declared length over the limit is refused without lowering Kestrel's limit below it, so Kestrel can still
        // drain the unread body and the 413 reaches the client intact; an undeclared (chunked) body is cut at the limit.
        if (http.Request.ContentLength > limit) return false;
        var sizeFeature = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false }) sizeFeature.MaxRequestBodySize = limit;
        return true;
    }

    public static bool IsOctetStream(HttpContext http) => string.Equals(http.Request.ContentType, OctetStream, StringComparison.OrdinalIgnoreCase);
}
