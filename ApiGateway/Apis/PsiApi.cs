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
using Smpc.Grains.Interfaces.Tenancy;

namespace Smpc.ApiGateway.Apis;

/// <summary>The steps of private set intersection (DESIGN.md §3.4). The gateway streams sets; the session grain checks every step.</summary>
public static class PsiApi
{
    private static readonly Dictionary<string, PsiPayload> Payloads = new(StringComparer.Ordinal)
    {
        [PsiPayloads.PodSet] = PsiPayload.ServerSet,
        [PsiPayloads.Query] = PsiPayload.Query,
        [PsiPayloads.Reply] = PsiPayload.Reply,
        [PsiPayloads.DoubleBlinded] = PsiPayload.DoubleBlinded,
    };

    public static RouteGroupBuilder MapPsiApi(this RouteGroupBuilder v1)
    {
        var psi = v1.MapGroup("/tenants/{tenantId}/sessions/{sessionId}/psi").WithTags("Private set intersection");
        psi.MapPost("/accept", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, PsiAcceptRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Call(tenantId, sessionId, grains, user, (s, c) => s.AcceptPsiAsync(c, new PsiAccept(DecodeKey(body.PublicKey), body.CountedByPod, DecodeProof(body.KeyProof), body.Version)))))
            .WithName("AcceptPsi").WithSummary("Pod: accepts the session, publishing its fresh RSA public key for rsa-blind (idempotent for the same acceptance).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        psi.MapPost("/decline", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, PsiDeclineRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Call(tenantId, sessionId, grains, user, (s, c) => s.DeclinePsiAsync(c, body.Reason ?? ""))))
            .WithName("DeclinePsi").WithSummary("Pod: declines or ends the session under its policy; the session fails with the reason, which the modeller reads.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        psi.MapPut("/{payload}", UploadAsync).WithName("UploadPsiSet")
            .WithSummary("Uploads a set as application/octet-stream: pod-set and reply (pod), query and double-blinded (modeller). Fixed-size elements; an empty body is an empty pod set. kkrt: pod-set is the pod's setup and query the modeller's query, each of exact length; the reply is whole 3ℓ-byte units, empty for an empty pod set.")
            .Accepts<Stream>(PayloadStreaming.OctetStream)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        psi.MapGet("/{payload}", DownloadAsync).WithName("DownloadPsiSet")
            .WithSummary("Downloads a set as application/octet-stream: pod-set and reply (modeller), query and double-blinded (pod); a Range header resumes a cut download (206).")
            .Produces(StatusCodes.Status200OK, contentType: PayloadStreaming.OctetStream).Produces(StatusCodes.Status206PartialContent, contentType: PayloadStreaming.OctetStream)
            .ProducesProblem(StatusCodes.Status416RangeNotSatisfiable)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        psi.MapPost("/count", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, PsiCountRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Call(tenantId, sessionId, grains, user, (s, c) => body.SealedCount is { } sealedCount
                    ? s.ReportSealedPsiCountAsync(c, PsiMapping.Base64(sealedCount, "sealedCount")!)
                    : s.ReportPsiCountAsync(c, body.Count ?? throw SmpcException.Invalid("sealedCount is required.")))))
            .WithName("ReportPsiCount").WithSummary("Pod (pod-counted ecdh cardinality): its count sealed to the modeller's count key (sealedCount); a plain count is refused.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        psi.MapPost("/complete", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, PsiCountRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Call(tenantId, sessionId, grains, user, (s, c) => s.CompletePsiAsync(c, body.Count))))
            .WithName("CompletePsi").WithSummary("Modeller: finishes, recording the count it chooses to report; its matching records never reach the service.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return v1;
    }





    private static async Task<Results<Ok<SessionResponse>, ProblemHttpResult>> UploadAsync(
        string tenantId, string sessionId, string payload, HttpContext http, ClaimsPrincipal user, IGrainFactory grains, Hosting.Quotas quotas)
    {
        var which = Which(payload);
        if (!PayloadStreaming.IsOctetStream(http))
            return StreamProblems.UnsupportedMediaType($"Sets are sent as {PayloadStreaming.OctetStream}.");
        var caller = user.ToCaller();
        Task<T> Session<T>(Func<IPsiSessionGrain, Task<T>> call) => SessionGrains.PsiAsync(grains, tenantId, sessionId, caller, call);
        using var activity = SmpcTelemetry.Gateway.StartActivity($"psi.{payload}.upload");
        activity?.SetTag(SmpcTelemetry.SessionAttribute, sessionId);
        if (http.Request.ContentLength == 0) return Ok(await Session(s => s.CommitPsiUploadAsync(caller, which, empty: true)));
        var upload = await Session(s => s.BeginPsiUploadAsync(caller, which));
        if (!PayloadStreaming.AllowBody(http, upload.MaxBytes))
            return StreamProblems.TooLarge($"The {payload} may hold at most {upload.MaxBytes} bytes ({upload.MaxBytes / upload.ElementBytes} elements of {upload.ElementBytes} bytes).");
        // The payload grain counts bytes and elements chunk by chunk as it stores them; a declared length over a quota is
        // refused at the first chunk, before anything is stored.
        var metered = await quotas.ForUploadAsync(caller.Tenant!, http.Request.ContentLength ?? 0);
        var manifest = await PayloadStreaming.UploadAsync(grains.GetPayload(PayloadKey.Parse(upload.PayloadKey)), upload.UploadId, http.Request.Body, upload.ChunkBytes, metered, http.RequestAborted, allowEmpty: true);
        var elements = (manifest?.Length ?? 0) / upload.ElementBytes;
        activity?.SetTag(SmpcTelemetry.ElementsAttribute, elements);
        return Ok(await Session(s => s.CommitPsiUploadAsync(caller, which, empty: manifest is null)));
    }

    private static async Task DownloadAsync(string tenantId, string sessionId, string payload, HttpContext http, ClaimsPrincipal user, IGrainFactory grains)
    {
        var which = Which(payload);
        using var activity = SmpcTelemetry.Gateway.StartActivity($"psi.{payload}.download");
        activity?.SetTag(SmpcTelemetry.SessionAttribute, sessionId);
        var key = await Call(tenantId, sessionId, grains, user, (s, c) => s.GetPsiPayloadAsync(c, which));
        if (key is null)
        {
            http.Response.ContentType = PayloadStreaming.OctetStream;
            http.Response.ContentLength = 0;
            return;
        }

        await PayloadStreaming.DownloadAsync(grains.GetPayload(PayloadKey.Parse(key)), http);
    }

    private static PsiPayload Which(string payload) =>
        Payloads.TryGetValue(payload, out var which) ? which : throw SmpcException.NotFound($"PSI set '{payload}' (one of {string.Join(", ", Payloads.Keys)})");

    private static Task<T> Call<T>(string tenantId, string sessionId, IGrainFactory grains, ClaimsPrincipal user, Func<IPsiSessionGrain, Grains.Interfaces.Access.Caller, Task<T>> call)
    {
        var caller = user.ToCaller();
        return SessionGrains.PsiAsync(grains, tenantId, sessionId, caller, s => call(s, caller));
    }

    private static Ok<SessionResponse> Ok(SessionInfo info) => TypedResults.Ok(SessionMapping.ToResponse(info));

    /// <summary>The key-certification proof: at most 2 + 8 × 512 bytes (4096-bit keys); its exact shape is the coordinator's check.</summary>
    private static byte[]? DecodeProof(string? base64)
    {
        if (base64 is null) return null;
        if (base64.Length > 5464) throw SmpcException.Invalid("keyProof is at most 5464 characters of base64.");
        try
        {
            return Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw SmpcException.Invalid("keyProof must be base64.");
        }
    }

    private static byte[]? DecodeKey(string? base64)
    {
        if (base64 is null) return null;
        if (base64.Length > 2048) throw SmpcException.Invalid("publicKey is at most 2048 characters of base64.");
        try
        {
            return Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw SmpcException.Invalid("publicKey must be base64.");
        }
    }
}
