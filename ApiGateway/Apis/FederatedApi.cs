using System.Security.Claims;
using System.Text.Json;
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

/// <summary>
/// Federated SQL and training (DESIGN.md §3.2, §3.3): member keys, the sealed content key, releases between rounds,
/// declines, round metrics and the end of the session. The rounds themselves are secure-aggregation sessions naming a parent.
/// </summary>
public static class FederatedApi
{

    public static RouteGroupBuilder MapFederatedApi(this RouteGroupBuilder v1)
    {
        var federated = v1.MapGroup("/tenants/{tenantId}/sessions/{sessionId}/federated").WithTags("Federated query and training");
        federated.MapPut("/member-keys/{podId}", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, string podId, MemberKeyRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
            {
                var caller = user.ToCaller();
                // Another tenant's session is not found (as in the grain), before the pod-id check could tell it exists.
                caller.RequireTenant(RouteIds.Tenant(tenantId), $"Session '{sessionId}'");
                if (caller.Subject != podId) throw SmpcException.Forbidden("A pod publishes only its own member key.");
                var publicKey = Base64(body.PublicKey, "publicKey", 64);
                var signature = Base64(body.Signature, "signature", 128);
                return Ok(await SessionGrains.FederatedAsync(grains, tenantId, sessionId, caller, s => s.SubmitMemberKeyAsync(caller, publicKey, signature)));
            })
            .WithName("PutMemberKey").WithSummary("Pod: publishes its member key (X25519, signed by its identity key) for this session; idempotent for the same key.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        federated.MapPut("/sealed-keys", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, SealedKeysRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
            {
                if (body.Boxes is null || body.Boxes.Count > SessionLimits.MaxFederatedPods) throw SmpcException.Invalid("boxes maps each pod to its sealed content key.");
                var boxes = body.Boxes.ToDictionary(b => b.Key, b => Base64(b.Value, $"boxes.{b.Key}", 256));
                return Ok(await Call(tenantId, sessionId, grains, user, (s, c) => s.SubmitSealedKeysAsync(c, boxes)));
            })
            .WithName("PutSealedKeys").WithSummary("Modeller: its content key sealed to every pod's member key; idempotent for the same boxes.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        federated.MapPut("/releases/{name}", UploadReleaseAsync).WithName("UploadRelease")
            .WithSummary("Modeller: uploads a release (application/octet-stream, ciphertext under the content key), e.g. pooled counts or a round's global parameters.")
            .Accepts<Stream>(PayloadStreaming.OctetStream)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        federated.MapGet("/releases/{name}", async (string tenantId, string sessionId, string name, HttpContext http, ClaimsPrincipal user, IGrainFactory grains) =>
            {
                if (!EntityKey.IsValidId(name)) throw SmpcException.NotFound($"Release '{name}'");
                using var activity = SmpcTelemetry.Gateway.StartActivity("federated.release.download");
                var key = await Call(tenantId, sessionId, grains, user, (s, c) => s.GetReleaseAsync(c, name));
                await PayloadStreaming.DownloadAsync(grains.GetPayload(PayloadKey.Parse(key)), http);
            })
            .WithName("DownloadRelease").WithSummary("Pods and modeller: downloads a release as application/octet-stream; a Range header resumes a cut download (206).")
            .Produces(StatusCodes.Status200OK, contentType: PayloadStreaming.OctetStream).Produces(StatusCodes.Status206PartialContent, contentType: PayloadStreaming.OctetStream)
            .ProducesProblem(StatusCodes.Status416RangeNotSatisfiable).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        federated.MapPost("/decline", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, DeclineRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Call(tenantId, sessionId, grains, user, (s, c) => s.DeclineFederatedAsync(c, body.Reason ?? ""))))
            .WithName("DeclineFederated").WithSummary("Pod: declines under its policy; the session fails with the pod's reason.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        federated.MapPost("/metrics", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, RoundMetricsRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Call(tenantId, sessionId, grains, user, (s, c) => s.ReportRoundMetricsAsync(c, body.Round ?? "", body.Values ?? new Dictionary<string, double>()))))
            .WithName("ReportRoundMetrics").WithSummary("Modeller: publishes one round's metrics (e.g. pooled loss); stored as given.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        federated.MapPost("/finish", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, FinishFederatedRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Call(tenantId, sessionId, grains, user, (s, c) => s.FinishFederatedAsync(c, body.FailureReason))))
            .WithName("FinishFederated").WithSummary("Modeller: ends the session, completed or failed with a reason; its releases are deleted.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return v1;
    }





    private static async Task<Results<Ok<SessionResponse>, ProblemHttpResult>> UploadReleaseAsync(
        string tenantId, string sessionId, string name, HttpContext http, ClaimsPrincipal user, IGrainFactory grains, Hosting.Quotas quotas)
    {
        if (!EntityKey.IsValidId(name)) throw SmpcException.Invalid($"A release is named by an id ({EntityKey.IdPattern}).");
        if (!PayloadStreaming.IsOctetStream(http)) return StreamProblems.UnsupportedMediaType($"Releases are sent as {PayloadStreaming.OctetStream}.");
        var caller = user.ToCaller();
        Task<T> Session<T>(Func<IFederatedSessionGrain, Task<T>> call) => SessionGrains.FederatedAsync(grains, tenantId, sessionId, caller, call);
        using var activity = SmpcTelemetry.Gateway.StartActivity("federated.release.upload");
        activity?.SetTag(SmpcTelemetry.SessionAttribute, sessionId);
        var upload = await Session(s => s.BeginReleaseAsync(caller, name));
        if (!PayloadStreaming.AllowBody(http, upload.MaxBytes)) return StreamProblems.TooLarge($"A release may hold at most {upload.MaxBytes} bytes.");
        var metered = await quotas.ForUploadAsync(caller.Tenant!, http.Request.ContentLength ?? 0);
        var manifest = await PayloadStreaming.UploadAsync(grains.GetPayload(PayloadKey.Parse(upload.PayloadKey)), upload.UploadId, http.Request.Body, upload.ChunkBytes, metered, http.RequestAborted);
        activity?.SetTag(SmpcTelemetry.BytesAttribute, manifest?.Length ?? 0);
        return Ok(await Session(s => s.CommitReleaseAsync(caller, name)));
    }

    private static byte[] Base64(string? value, string field, int maxLength)
    {
        if (value is null || value.Length > maxLength) throw SmpcException.Invalid($"{field} is base64 of at most {maxLength} characters.");
        try
        {
            return Convert.FromBase64String(value);
        }
        catch (FormatException)
        {
            throw SmpcException.Invalid($"{field} must be base64.");
        }
    }

    private static Task<T> Call<T>(string tenantId, string sessionId, IGrainFactory grains, ClaimsPrincipal user, Func<IFederatedSessionGrain, Grains.Interfaces.Access.Caller, Task<T>> call)
    {
        var caller = user.ToCaller();
        return SessionGrains.FederatedAsync(grains, tenantId, sessionId, caller, s => call(s, caller));
    }

    private static Ok<SessionResponse> Ok(SessionInfo info) => TypedResults.Ok(SessionMapping.ToResponse(info));
}
