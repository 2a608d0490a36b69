using Smpc.Grains.Interfaces.Tenancy;
using System.Security.Claims;
using Smpc.ApiGateway.Auth;
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
    public const string OctetStream = PayloadStreaming.OctetStream;

    /// <summary>Names the protocol steps use (secure aggregation's masked vectors and sum, PSI's sets, federated releases).</summary>
    private static readonly string[] ReservedPrefixes = ["masked-", "psi-", "release-"];

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
        await quotas.RequireDailyAsync(key.Session.Tenant, UsageKind.PayloadBytes, http.Request.ContentLength ?? 0);
        var manifest = await PayloadStreaming.UploadAsync(payload, await payload.BeginAsync(), http.Request.Body, limits.ChunkBytes, http.RequestAborted);
        await quotas.RecordAsync(key.Session.Tenant, UsageKind.PayloadBytes, manifest.Length);
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
