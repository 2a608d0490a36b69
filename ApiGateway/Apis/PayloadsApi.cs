using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Smpc.ApiGateway.Auth;
using Smpc.ApiGateway.Hosting;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Tenancy;

namespace Smpc.ApiGateway.Apis;

/// <summary>Large binary payloads of a session, streamed through the gateway in fixed-size chunks (memory stays bounded).</summary>
public static class PayloadsApi
{
    public const string OctetStream = PayloadStreaming.OctetStream;

    /// <summary>Names the protocol steps use (secure aggregation's masked vectors, sum and share envelopes, PSI's sets, federated releases).</summary>
    private static readonly string[] ReservedPrefixes = ["masked-", "shares-", "psi-", "release-"];

    public static RouteGroupBuilder MapPayloadsApi(this RouteGroupBuilder v1)
    {
        var payloads = v1.MapGroup("/tenants/{tenantId}/sessions/{sessionId}/payloads").WithTags("Payloads");
        payloads.MapPut("/{name}", UploadAsync).WithName("UploadPayload")
            .WithSummary("Stores a payload (application/octet-stream); immutable once stored, an identical re-upload is idempotent.")
            .Accepts<Stream>(OctetStream)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        payloads.MapGet("/{name}", DownloadAsync).WithName("DownloadPayload")
            .WithSummary("Streams a stored payload as application/octet-stream, with its SHA-256 in Repr-Digest; a Range header resumes a cut download (206).")
            .Produces(StatusCodes.Status200OK, contentType: OctetStream).Produces(StatusCodes.Status206PartialContent, contentType: OctetStream)
            .ProducesProblem(StatusCodes.Status416RangeNotSatisfiable).ProducesProblem(StatusCodes.Status404NotFound);
        payloads.MapGet("/{name}/manifest", async Task<Ok<PayloadResponse>> (string tenantId, string sessionId, string name, ClaimsPrincipal user, IGrainFactory grains) =>
                TypedResults.Ok(ToResponse(name, await grains.GetPayload(await PayloadKeyAsync(tenantId, sessionId, name, user, grains)).GetManifestAsync())))
            .WithName("GetPayloadManifest").WithSummary("Reads a stored payload's length, chunking and SHA-256.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        // Resumable uploads: one request per fixed-size chunk, so a client whose gateway fails resumes where the service
        // stopped, through any gateway, without sending again what was stored.
        payloads.MapPost("/{name}/uploads", BeginResumableAsync).WithName("BeginResumableUpload")
            .WithSummary("Begins a resumable upload (abandoning an unfinished one of the payload); its chunks are then sent one request each, in order.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .WithIdempotency();
        payloads.MapGet("/{name}/uploads/{uploadId}", GetResumableAsync).WithName("GetResumableUpload")
            .WithSummary("How far a resumable upload got: the chunks and bytes stored (resume at chunk chunksStored), and whether it was completed.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        payloads.MapPut("/{name}/uploads/{uploadId}/chunks/{index}", PutChunkAsync).WithName("PutResumableUploadChunk")
            .WithSummary("Stores chunk index (application/octet-stream, exactly chunkBytes bytes but for the last); chunks go in order, re-sending the last stored one is idempotent.")
            .Accepts<Stream>(OctetStream)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        payloads.MapPost("/{name}/uploads/{uploadId}/complete", CompleteResumableAsync).WithName("CompleteResumableUpload")
            .WithSummary("Stores the payload after checking the stored chunks against the declared length and SHA-256; a retry answers the same payload.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return v1;
    }

    private static async Task<Created<ResumableUploadResponse>> BeginResumableAsync(
        string tenantId, string sessionId, string name, ClaimsPrincipal user, IGrainFactory grains, IOptions<RestGatewayOptions> options)
    {
        var key = await PayloadKeyAsync(tenantId, sessionId, name, user, grains);
        var limits = options.Value;
        using var activity = StartUploadActivity("payload.upload.begin", key);
        // Fixed chunking is what makes resuming possible: chunk i starts at byte i × chunkBytes of the client's content.
        var uploadId = await grains.GetPayload(key).BeginAsync(new PayloadConstraints(0, limits.ChunkBytes, null, MaxLength: limits.MaxPayloadBytes));
        return TypedResults.Created(UploadPath(key, uploadId), new ResumableUploadResponse(uploadId, limits.ChunkBytes, 0, 0, false));
    }

    private static async Task<Ok<ResumableUploadResponse>> GetResumableAsync(
        string tenantId, string sessionId, string name, string uploadId, ClaimsPrincipal user, IGrainFactory grains, IOptions<RestGatewayOptions> options)
    {
        var key = await PayloadKeyAsync(tenantId, sessionId, name, user, grains);
        var id = UploadId(uploadId);
        using var activity = StartUploadActivity("payload.upload.status", key);
        return TypedResults.Ok(ToResponse(await grains.GetPayload(key).GetUploadAsync(id), options.Value.ChunkBytes));
    }

    private static async Task<Results<Ok<ResumableUploadResponse>, ProblemHttpResult>> PutChunkAsync(
        string tenantId, string sessionId, string name, string uploadId, int index, HttpContext http, ClaimsPrincipal user, IGrainFactory grains,
        IOptions<RestGatewayOptions> options, Quotas quotas)
    {
        if (!PayloadStreaming.IsOctetStream(http)) return ProblemMappingShortcuts.UnsupportedMediaType($"Chunks are sent as {OctetStream}.");
        var chunkBytes = options.Value.ChunkBytes;
        if (!PayloadStreaming.AllowBody(http, chunkBytes)) return ProblemMappingShortcuts.TooLarge($"A chunk may hold at most {chunkBytes} bytes.");

        var key = await PayloadKeyAsync(tenantId, sessionId, name, user, grains);
        var id = UploadId(uploadId);
        var payload = grains.GetPayload(key);
        using var activity = StartUploadActivity("payload.upload.chunk", key);
        activity?.SetTag(SmpcTelemetry.ChunkIndexAttribute, index);
        var data = await PayloadStreaming.ReadChunkAsync(http, chunkBytes);
        activity?.SetTag(SmpcTelemetry.BytesAttribute, data.Length);
        // Counted when stored, not at completion, by the payload grain in the turn that stores it: chunks of uploads that are
        // never completed count too, so concurrent unfinished uploads cannot pass the quota. A chunk for an unknown or
        // completed upload is refused before it counts.
        var upload = await quotas.ForUploadAsync(key.Session.Tenant);
        ChunkReceipt receipt;
        try
        {
            receipt = upload.Check(await payload.WriteChunkAsync(id, index, data, upload.Quota));
        }
        catch (SmpcException e) when (e.Code == SmpcErrorCode.WrongPhase)
        {
            // Not the pending upload: an unknown or superseded one is not found (GetUploadAsync says so); a completed one takes no more chunks.
            await payload.GetUploadAsync(id);
            throw SmpcException.WrongPhase($"Upload '{id}' is completed; it takes no more chunks.");
        }

        SmpcTelemetry.BytesRelayed.Add(data.Length);
        return TypedResults.Ok(ToResponse(receipt.Upload, chunkBytes));
    }

    private static async Task<Created<PayloadResponse>> CompleteResumableAsync(
        string tenantId, string sessionId, string name, string uploadId, CompleteUploadRequest body, ClaimsPrincipal user, IGrainFactory grains)
    {
        var key = await PayloadKeyAsync(tenantId, sessionId, name, user, grains);
        var id = UploadId(uploadId);
        if (body.Sha256 is not { Length: 64 } sha256 || !sha256.All(char.IsAsciiHexDigit))
            throw SmpcException.Invalid("sha256 is the payload's SHA-256 as 64 hex digits.");
        if (body.Length <= 0) throw SmpcException.Invalid("length is the payload's length in bytes (at least 1).");

        var payload = grains.GetPayload(key);
        using var activity = StartUploadActivity("payload.upload.complete", key);
        activity?.SetTag(SmpcTelemetry.BytesAttribute, body.Length);
        await payload.GetUploadAsync(id); // an unknown or superseded upload is not found
        var manifest = await payload.CompleteCheckedAsync(id, body.Length, Convert.ToHexStringLower(Convert.FromHexString(sha256)));
        return TypedResults.Created($"/v1/tenants/{key.Session.Tenant}/sessions/{key.Session.Id}/payloads/{key.Name}", ToResponse(key.Name, manifest));
    }

    private static System.Diagnostics.Activity? StartUploadActivity(string name, PayloadKey key)
    {
        var activity = SmpcTelemetry.Gateway.StartActivity(name);
        activity?.SetTag(SmpcTelemetry.TenantAttribute, key.Session.Tenant);
        activity?.SetTag(SmpcTelemetry.SessionAttribute, key.Session.Id);
        activity?.SetTag(SmpcTelemetry.PayloadAttribute, key.Name);
        return activity;
    }

    /// <summary>The upload id of a route; one that cannot be an id is not found, like an unknown one.</summary>
    private static Guid UploadId(string uploadId) =>
        Guid.TryParseExact(uploadId, "D", out var id) ? id : throw SmpcException.NotFound($"Upload '{uploadId}'");

    private static string UploadPath(PayloadKey key, Guid uploadId) =>
        $"/v1/tenants/{key.Session.Tenant}/sessions/{key.Session.Id}/payloads/{key.Name}/uploads/{uploadId}";

    private static ResumableUploadResponse ToResponse(PayloadUploadStatus status, int chunkBytes) =>
        new(status.UploadId, chunkBytes, status.ChunksStored, status.BytesStored, status.Completed);

    private static async Task<Results<Created<PayloadResponse>, ProblemHttpResult>> UploadAsync(
        string tenantId, string sessionId, string name, HttpContext http, ClaimsPrincipal user, IGrainFactory grains, IOptions<RestGatewayOptions> options, Quotas quotas)
    {
        if (!PayloadStreaming.IsOctetStream(http)) return ProblemMappingShortcuts.UnsupportedMediaType($"Payloads are sent as {OctetStream}.");
        var limits = options.Value;
        if (!PayloadStreaming.AllowBody(http, limits.MaxPayloadBytes)) return ProblemMappingShortcuts.TooLarge($"A payload may hold at most {limits.MaxPayloadBytes} bytes.");

        var key = await PayloadKeyAsync(tenantId, sessionId, name, user, grains);
        var payload = grains.GetPayload(key);
        using var activity = SmpcTelemetry.Gateway.StartActivity("payload.upload");
        activity?.SetTag(SmpcTelemetry.TenantAttribute, key.Session.Tenant);
        activity?.SetTag(SmpcTelemetry.SessionAttribute, key.Session.Id);
        var upload = await quotas.ForUploadAsync(key.Session.Tenant, http.Request.ContentLength ?? 0);
        var manifest = await PayloadStreaming.UploadAsync(payload, await payload.BeginAsync(), http.Request.Body, limits.ChunkBytes, upload, http.RequestAborted);
        activity?.SetTag(SmpcTelemetry.BytesAttribute, manifest.Length);
        return TypedResults.Created($"/v1/tenants/{key.Session.Tenant}/sessions/{key.Session.Id}/payloads/{name}", ToResponse(name, manifest));
    }

    private static async Task DownloadAsync(string tenantId, string sessionId, string name, HttpContext http, ClaimsPrincipal user, IGrainFactory grains)
    {
        using var activity = SmpcTelemetry.Gateway.StartActivity("payload.download");
        await PayloadStreaming.DownloadAsync(grains.GetPayload(await PayloadKeyAsync(tenantId, sessionId, name, user, grains)), http);
    }

    private static async Task<PayloadKey> PayloadKeyAsync(string tenantId, string sessionId, string name, ClaimsPrincipal user, IGrainFactory grains)
    {
        var session = RouteIds.Key(tenantId, sessionId, "Session");
        if (!EntityKey.IsValidId(name)) throw SmpcException.NotFound($"Payload '{name}'");
        // Protocol payloads are written and read only through their protocol steps, which check the party, the phase and every element.
        if (ReservedPrefixes.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal)))
            throw SmpcException.Forbidden($"Payload names starting with {string.Join(" or ", ReservedPrefixes.Select(p => $"'{p}'"))} are reserved for protocol steps.");
        await grains.GetSession(session).GetAsync(user.ToCaller()); // the session must exist and be visible to the caller
        return new PayloadKey(session, name);
    }

    private static PayloadResponse ToResponse(string name, PayloadManifest m) =>
        new(name, m.Length, m.ChunkLengths.Count, m.Sha256, m.CompletedAt);

    internal static class ProblemMappingShortcuts
    {
        public static ProblemHttpResult UnsupportedMediaType(string detail) =>
            Problems.ProblemMapping.Problem(StatusCodes.Status415UnsupportedMediaType, ProblemTypes.UnsupportedMediaType, "Unsupported media type", detail);

        public static ProblemHttpResult TooLarge(string detail) =>
            Problems.ProblemMapping.Problem(StatusCodes.Status413PayloadTooLarge, ProblemTypes.PayloadTooLarge, "Payload too large", detail);
    }
}
