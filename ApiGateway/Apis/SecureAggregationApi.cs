using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Smpc.ApiGateway.Auth;
using Smpc.ApiGateway.Mapping;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.ApiGateway.Apis;

/// <summary>The steps of secure aggregation (DESIGN.md §3.1). The gateway moves bytes; the session grain checks every message.</summary>
public static class SecureAggregationApi
{
    /// <summary>The largest base64 protocol message body accepted (share envelopes of 50 pods fit easily).</summary>
    private const long MaxMessageBytes = 1 << 20;

    public static RouteGroupBuilder MapSecureAggregationApi(this RouteGroupBuilder v1)
    {
        var secagg = v1.MapGroup("/tenants/{tenantId}/sessions/{sessionId}/secagg").WithTags("Secure aggregation");
        secagg.MapPost("/key-bundle", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, ProtocolMessage body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Call(tenantId, sessionId, grains, user, (s, c) => s.SubmitKeyBundleAsync(c, Decode(body.Data)))))
            .WithName("SubmitKeyBundle").WithSummary("Pod, step 1: publishes its signed key bundle (idempotent for the same bytes).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        secagg.MapGet("/key-bundles", async Task<Ok<ProtocolMessages>> (string tenantId, string sessionId, ClaimsPrincipal user, IGrainFactory grains) =>
                Many(await Call(tenantId, sessionId, grains, user, (s, c) => s.GetKeyBundlesAsync(c))))
            .WithName("GetKeyBundles").WithSummary("Pods and modeller: every key bundle, once the key exchange has closed.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        secagg.MapPost("/share-envelopes", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, ProtocolMessages body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Call(tenantId, sessionId, grains, user, (s, c) => s.SubmitShareEnvelopesAsync(c, [.. (body.Items ?? []).Select(Decode)]))))
            .WithName("SubmitShareEnvelopes").WithSummary("Pod, step 2: its sealed share envelopes, one per other key-bundle sender; relayed unopened.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        secagg.MapGet("/share-envelopes", async Task<Ok<ProtocolMessages>> (string tenantId, string sessionId, ClaimsPrincipal user, IGrainFactory grains) =>
                Many(await Call(tenantId, sessionId, grains, user, (s, c) => s.GetShareEnvelopesAsync(c))))
            .WithName("GetShareEnvelopes").WithSummary("Pod: the envelopes addressed to it, once the share exchange has closed.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        secagg.MapPut("/masked-input", SubmitMaskedInputAsync).WithName("SubmitMaskedInput")
            .WithSummary("Pod, step 3: its masked vector as application/octet-stream (little-endian 8-byte field elements, each below q).")
            .Accepts<Stream>(PayloadStreaming.OctetStream)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        secagg.MapPost("/decline", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, DeclineAggregationRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Call(tenantId, sessionId, grains, user, (s, c) => s.DeclineAggregationAsync(c, body.Category ?? ""))))
            .WithName("DeclineAggregation")
            .WithSummary("Pod: declines (or reports its own failure) with a reason category (policy, input-out-of-bounds, input-not-finite, input-missing, shape-mismatch, internal), never a value; it is dropped at once.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        secagg.MapGet("/unmask-request", async Task<Ok<ProtocolMessage>> (string tenantId, string sessionId, ClaimsPrincipal user, IGrainFactory grains) =>
                TypedResults.Ok(new ProtocolMessage(Convert.ToBase64String(await Call(tenantId, sessionId, grains, user, (s, c) => s.GetUnmaskRequestAsync(c))))))
            .WithName("GetUnmaskRequest").WithSummary("Survivors and modeller: the share senders and survivors the unmasking is about.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        secagg.MapPost("/unmask-response", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, ProtocolMessage body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Call(tenantId, sessionId, grains, user, (s, c) => s.SubmitUnmaskResponseAsync(c, Decode(body.Data)))))
            .WithName("SubmitUnmaskResponse").WithSummary("Survivor, step 4: its shares for the modeller, sealed to the modeller's key.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        secagg.MapGet("/material", async Task<Ok<UnmaskMaterialResponse>> (string tenantId, string sessionId, ClaimsPrincipal user, IGrainFactory grains) =>
            {
                var material = await Call(tenantId, sessionId, grains, user, (s, c) => s.GetUnmaskMaterialAsync(c));
                return TypedResults.Ok(new UnmaskMaterialResponse(
                    [.. material.KeyBundles.Select(Convert.ToBase64String)], Convert.ToBase64String(material.UnmaskRequest), [.. material.Responses.Select(Convert.ToBase64String)]));
            })
            .WithName("GetUnmaskMaterial").WithSummary("Modeller, step 5: key bundles, unmask request and the responses sealed to it.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        secagg.MapGet("/masked-sum", async (string tenantId, string sessionId, HttpContext http, ClaimsPrincipal user, IGrainFactory grains) =>
            {
                var material = await Call(tenantId, sessionId, grains, user, (s, c) => s.GetUnmaskMaterialAsync(c));
                await PayloadStreaming.DownloadAsync(grains.GetPayload(PayloadKey.Parse(material.MaskedSumPayload)), http);
            })
            .WithName("GetMaskedSum").WithSummary("Modeller: the survivors' masked vectors summed mod q, as application/octet-stream; a Range header resumes a cut download (206).")
            .Produces(StatusCodes.Status200OK, contentType: PayloadStreaming.OctetStream).Produces(StatusCodes.Status206PartialContent, contentType: PayloadStreaming.OctetStream)
            .ProducesProblem(StatusCodes.Status416RangeNotSatisfiable)
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        secagg.MapPost("/complete", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, CompleteAggregationRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Call(tenantId, sessionId, grains, user, (s, c) => s.CompleteAsync(c, body.IncludedParties ?? []))))
            .WithName("CompleteAggregation").WithSummary("Modeller: reports that it computed the result from the survivors (the result stays with it).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return v1;
    }

    private static async Task<Results<Ok<SessionResponse>, ProblemHttpResult>> SubmitMaskedInputAsync(
        string tenantId, string sessionId, HttpContext http, ClaimsPrincipal user, IGrainFactory grains, Hosting.Quotas quotas)
    {
        if (!PayloadStreaming.IsOctetStream(http))
            return StreamProblems.UnsupportedMediaType($"Masked vectors are sent as {PayloadStreaming.OctetStream}.");
        var caller = user.ToCaller();
        Task<T> Session<T>(Func<ISecureAggregationSessionGrain, Task<T>> call) => SessionGrains.SecureAggregationAsync(grains, tenantId, sessionId, caller, call);
        using var activity = SmpcTelemetry.Gateway.StartActivity("secagg.masked.upload");
        var upload = await Session(s => s.BeginMaskedInputAsync(caller));
        if (!PayloadStreaming.AllowBody(http, upload.TotalBytes))
            return StreamProblems.TooLarge($"The masked vector must hold exactly {upload.TotalBytes} bytes.");
        // The payload grain counts each chunk against the quota as it stores it; the masked vector's exact length is declared by
        // its constraints, so a vector that cannot fit today is refused at its first chunk.
        var metered = await quotas.ForUploadAsync(caller.Tenant!, http.Request.ContentLength ?? 0);
        await PayloadStreaming.UploadAsync(grains.GetPayload(PayloadKey.Parse(upload.PayloadKey)), upload.UploadId, http.Request.Body, upload.ChunkBytes, metered, http.RequestAborted);
        return Ok(await Session(s => s.CommitMaskedInputAsync(caller)));
    }

    private static Task<T> Call<T>(string tenantId, string sessionId, IGrainFactory grains, ClaimsPrincipal user, Func<ISecureAggregationSessionGrain, Grains.Interfaces.Access.Caller, Task<T>> call)
    {
        var caller = user.ToCaller();
        return SessionGrains.SecureAggregationAsync(grains, tenantId, sessionId, caller, s => call(s, caller));
    }

    private static Ok<SessionResponse> Ok(SessionInfo info) => TypedResults.Ok(SessionMapping.ToResponse(info));

    private static Ok<ProtocolMessages> Many(IReadOnlyList<byte[]> items) => TypedResults.Ok(new ProtocolMessages([.. items.Select(Convert.ToBase64String)]));

    private static byte[] Decode(string? base64)
    {
        if (string.IsNullOrEmpty(base64) || base64.Length > MaxMessageBytes) throw SmpcException.Invalid("A protocol message is 1 byte to 1 MiB of base64.");
        try
        {
            return Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw SmpcException.Invalid("A protocol message must be base64.");
        }
    }
}
