using System.Buffers;
using System.Security.Claims;
using Smpc.ApiGateway.Auth;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Smpc.ApiGateway.Hosting;
using Smpc.Client.Contracts;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;

namespace Smpc.ApiGateway.Apis;

/// <summary>Large binary payloads of a session, streamed through the gateway in fixed-size chunks (memory stays bounded).</summary>
public static class PayloadsApi
{
    public const string OctetStream = "application/octet-stream";

    public static RouteGroupBuilder MapPayloadsApi(this RouteGroupBuilder v1)
    {
        var payloads = v1.MapGroup("/tenants/{tenantId}/sessions/{sessionId}/payloads").WithTags("Payloads");
        payloads.MapPut("/{name}", UploadAsync).WithName("UploadPayload")
            .WithSummary("Stores a payload (application/octet-stream); immutable once stored, an identical re-upload is idempotent.")
            .Accepts<Stream>(OctetStream)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        payloads.MapGet("/{name}", DownloadAsync).WithName("DownloadPayload")
            .WithSummary("Streams a stored payload as application/octet-stream, with its SHA-256 in Repr-Digest.")
            .Produces(StatusCodes.Status200OK, contentType: OctetStream).ProducesProblem(StatusCodes.Status404NotFound);
        payloads.MapGet("/{name}/manifest", async Task<Ok<PayloadResponse>> (string tenantId, string sessionId, string name, ClaimsPrincipal user, IGrainFactory grains) =>
                TypedResults.Ok(ToResponse(name, await grains.GetPayload(await PayloadKeyAsync(tenantId, sessionId, name, user, grains)).GetManifestAsync())))
            .WithName("GetPayloadManifest").WithSummary("Reads a stored payload's length, chunking and SHA-256.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return v1;
    }

    private static async Task<Results<Created<PayloadResponse>, ProblemHttpResult>> UploadAsync(
        string tenantId, string sessionId, string name, HttpContext http, ClaimsPrincipal user, IGrainFactory grains, IOptions<RestGatewayOptions> options)
    {
        if (!string.Equals(http.Request.ContentType, OctetStream, StringComparison.OrdinalIgnoreCase))
            return ProblemMappingShortcuts.UnsupportedMediaType($"Payloads are sent as {OctetStream}.");
        var limits = options.Value;
        var sizeFeature = http.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false }) sizeFeature.MaxRequestBodySize = limits.MaxPayloadBytes;
        if (http.Request.ContentLength > limits.MaxPayloadBytes)
            return ProblemMappingShortcuts.TooLarge($"A payload may hold at most {limits.MaxPayloadBytes} bytes.");

        var key = await PayloadKeyAsync(tenantId, sessionId, name, user, grains);
        var payload = grains.GetPayload(key);
        using var activity = SmpcTelemetry.Gateway.StartActivity("payload.upload");
        activity?.SetTag(SmpcTelemetry.TenantAttribute, key.Session.Tenant);
        activity?.SetTag(SmpcTelemetry.SessionAttribute, key.Session.Id);

        var uploadId = await payload.BeginAsync();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(limits.ChunkBytes);
        long total = 0;
        var index = 0;
        try
        {
            while (true)
            {
                var filled = await http.Request.Body.ReadAtLeastAsync(buffer.AsMemory(0, limits.ChunkBytes), limits.ChunkBytes, throwOnEndOfStream: false, http.RequestAborted);
                if (filled == 0) break;
                var chunk = buffer.AsSpan(0, filled).ToArray();
                sha.AppendData(chunk);
                await payload.WriteChunkAsync(uploadId, index++, chunk);
                total += filled;
                if (filled < limits.ChunkBytes) break;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (total == 0) throw SmpcException.Invalid("A payload must not be empty.");
        var manifest = await payload.CompleteAsync(uploadId, total, Convert.ToHexStringLower(sha.GetHashAndReset()));
        activity?.SetTag(SmpcTelemetry.BytesAttribute, total);
        return TypedResults.Created($"/v1/tenants/{key.Session.Tenant}/sessions/{key.Session.Id}/payloads/{name}", ToResponse(name, manifest));
    }

    private static async Task DownloadAsync(string tenantId, string sessionId, string name, HttpContext http, ClaimsPrincipal user, IGrainFactory grains)
    {
        var payload = grains.GetPayload(await PayloadKeyAsync(tenantId, sessionId, name, user, grains));
        var manifest = await payload.GetManifestAsync();
        using var activity = SmpcTelemetry.Gateway.StartActivity("payload.download");
        activity?.SetTag(SmpcTelemetry.BytesAttribute, manifest.Length);

        http.Response.ContentType = OctetStream;
        http.Response.ContentLength = manifest.Length;
        http.Response.Headers["Repr-Digest"] = $"sha-256=:{Convert.ToBase64String(Convert.FromHexString(manifest.Sha256))}:";
        // Fetch the next chunk while the current one is written: one chunk in flight, one on the wire.
        var next = payload.ReadChunkAsync(0);
        for (var i = 0; i < manifest.ChunkLengths.Count; i++)
        {
            var chunk = await next;
            if (i + 1 < manifest.ChunkLengths.Count) next = payload.ReadChunkAsync(i + 1);
            await http.Response.Body.WriteAsync(chunk, http.RequestAborted);
        }
    }

    private static async Task<PayloadKey> PayloadKeyAsync(string tenantId, string sessionId, string name, ClaimsPrincipal user, IGrainFactory grains)
    {
        var session = RouteIds.Key(tenantId, sessionId, "Session");
        if (!EntityKey.IsValidId(name)) throw SmpcException.NotFound($"Payload '{name}'");
        await grains.GetSession(session).GetAsync(user.ToCaller()); // the session must exist and be visible to the caller
        return new PayloadKey(session, name);
    }

    private static PayloadResponse ToResponse(string name, PayloadManifest m) =>
        new(name, m.Length, m.ChunkLengths.Count, m.Sha256, m.CompletedAt);

    private static class ProblemMappingShortcuts
    {
        public static ProblemHttpResult UnsupportedMediaType(string detail) =>
            Problems.ProblemMapping.Problem(StatusCodes.Status415UnsupportedMediaType, ProblemTypes.UnsupportedMediaType, "Unsupported media type", detail);

        public static ProblemHttpResult TooLarge(string detail) =>
            Problems.ProblemMapping.Problem(StatusCodes.Status413PayloadTooLarge, ProblemTypes.PayloadTooLarge, "Payload too large", detail);
    }
}
