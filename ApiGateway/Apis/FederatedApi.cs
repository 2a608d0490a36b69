using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Smpc.ApiGateway.Auth;
using Smpc.Client.Contracts;
using Smpc.Client.FederatedQuery;
using Smpc.Client.Training;
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
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static RouteGroupBuilder MapFederatedApi(this RouteGroupBuilder v1)
    {
        var federated = v1.MapGroup("/tenants/{tenantId}/sessions/{sessionId}/federated").WithTags("Federated query and training");
        federated.MapPut("/member-keys/{podId}", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, string podId, MemberKeyRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
            {
                var caller = user.ToCaller();
                // Another tenant's session is not found (as in the grain), before the pod-id check could tell it exists.
                caller.RequireTenant(RouteIds.Tenant(tenantId), $"Session '{sessionId}'");
                if (caller.Subject != podId) throw SmpcException.Forbidden("A pod publishes only its own member key.");
                return Ok(await Session(tenantId, sessionId, grains).SubmitMemberKeyAsync(caller, Base64(body.PublicKey, "publicKey", 64), Base64(body.Signature, "signature", 128)));
            })
            .WithName("PutMemberKey").WithSummary("Pod: publishes its member key (X25519, signed by its identity key) for this session; idempotent for the same key.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        federated.MapPut("/sealed-keys", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, SealedKeysRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
            {
                if (body.Boxes is null || body.Boxes.Count > SessionGrainLimits.MaxPods) throw SmpcException.Invalid("boxes maps each pod to its sealed content key.");
                var boxes = body.Boxes.ToDictionary(b => b.Key, b => Base64(b.Value, $"boxes.{b.Key}", 256));
                return Ok(await Session(tenantId, sessionId, grains).SubmitSealedKeysAsync(user.ToCaller(), boxes));
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
                var key = await Session(tenantId, sessionId, grains).GetReleaseAsync(user.ToCaller(), name);
                await PayloadStreaming.DownloadAsync(grains.GetPayload(PayloadKey.Parse(key)), http);
            })
            .WithName("DownloadRelease").WithSummary("Pods and modeller: downloads a release as application/octet-stream; a Range header resumes a cut download (206).")
            .Produces(StatusCodes.Status200OK, contentType: PayloadStreaming.OctetStream).Produces(StatusCodes.Status206PartialContent, contentType: PayloadStreaming.OctetStream)
            .ProducesProblem(StatusCodes.Status416RangeNotSatisfiable).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        federated.MapPost("/decline", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, DeclineRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Session(tenantId, sessionId, grains).DeclineFederatedAsync(user.ToCaller(), body.Reason ?? "")))
            .WithName("DeclineFederated").WithSummary("Pod: declines under its policy; the session fails with the pod's reason.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        federated.MapPost("/metrics", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, RoundMetricsRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Session(tenantId, sessionId, grains).ReportRoundMetricsAsync(user.ToCaller(), body.Round ?? "", body.Values ?? new Dictionary<string, double>())))
            .WithName("ReportRoundMetrics").WithSummary("Modeller: publishes one round's metrics (e.g. pooled loss); stored as given.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        federated.MapPost("/finish", async Task<Ok<SessionResponse>> (string tenantId, string sessionId, FinishFederatedRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
                Ok(await Session(tenantId, sessionId, grains).FinishFederatedAsync(user.ToCaller(), body.FailureReason)))
            .WithName("FinishFederated").WithSummary("Modeller: ends the session, completed or failed with a reason; its releases are deleted.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return v1;
    }

    /// <summary>Validates a query request (its output shape must be encodable) and stores it as the session's spec.</summary>
    internal static FederatedSpec ToSpec(QueryRequest? query)
    {
        if (query is null) throw SmpcException.Invalid("A query session needs 'query' (sql, source, groupBy, aggregates).");
        if (!EntityKey.IsValidId(query.Source)) throw SmpcException.Invalid("query.source must name one of the pods' data sources (an id).");
        if (query.RoundTimeoutSeconds is < 5 or > 86_400) throw SmpcException.Invalid("query.roundTimeoutSeconds must be between 5 and 86400.");
        try
        {
            _ = QueryShape.Create(query);
        }
        catch (QuerySpecException ex)
        {
            throw SmpcException.Invalid($"query: {ex.Message}");
        }

        return new FederatedSpec(JsonSerializer.Serialize(query, Json), Lifetime(2, query.RoundTimeoutSeconds));
    }

    /// <summary>Validates a training request (schedule, bounds that fit the encoding) and stores it as the session's spec.</summary>
    internal static FederatedSpec ToSpec(TrainingRequest? training)
    {
        if (training is null) throw SmpcException.Invalid("A training session needs 'training' (trainer, source, features, label).");
        if (!EntityKey.IsValidId(training.Source)) throw SmpcException.Invalid("training.source must name one of the pods' data sources (an id).");
        if (string.IsNullOrWhiteSpace(training.Trainer) || training.Trainer.Length > 64) throw SmpcException.Invalid("training.trainer names a trainer (e.g. linear, logistic).");
        if (training.Features is not { Count: > 0 and <= 10_000 } || training.Features.Any(string.IsNullOrWhiteSpace) || training.Features.Distinct().Count() != training.Features.Count)
            throw SmpcException.Invalid("training.features names 1 to 10000 distinct columns.");
        if (string.IsNullOrWhiteSpace(training.Label) || training.Features.Contains(training.Label)) throw SmpcException.Invalid("training.label names a column that is not a feature.");
        if (training.Rounds is < 1 or > 1000) throw SmpcException.Invalid("training.rounds must be between 1 and 1000.");
        if (training.LocalEpochs is < 1 or > 10_000) throw SmpcException.Invalid("training.localEpochs must be between 1 and 10000.");
        if (training.BatchSize < 0) throw SmpcException.Invalid("training.batchSize must be 0 (full batch) or positive.");
        if (!double.IsFinite(training.LearningRate) || training.LearningRate <= 0) throw SmpcException.Invalid("training.learningRate must be positive.");
        if (!double.IsFinite(training.Tolerance) || training.Tolerance < 0) throw SmpcException.Invalid("training.tolerance must be 0 or positive.");
        if (training.RoundTimeoutSeconds is < 5 or > 86_400) throw SmpcException.Invalid("training.roundTimeoutSeconds must be between 5 and 86400.");
        try
        {
            _ = Standardisation.Fields(training, training.Features.Count);
            _ = FedAvgRound.Fields(training, Trainers.Builtin.TryGet(training.Trainer, out var trainer) ? trainer.ParameterCount(training.Features.Count) : training.Features.Count + 1);
        }
        catch (ArgumentException ex)
        {
            throw SmpcException.Invalid($"training: {ex.Message}");
        }

        return new FederatedSpec(JsonSerializer.Serialize(training, Json), Lifetime(training.Rounds + 1, training.RoundTimeoutSeconds));
    }

    internal static FederatedStatusResponse ToResponse(SessionKind kind, FederatedStatus f) => new(
        kind == SessionKind.FederatedQuery ? JsonSerializer.Deserialize<QueryRequest>(f.Spec.RequestJson, Json) : null,
        kind == SessionKind.FederatedTraining ? JsonSerializer.Deserialize<TrainingRequest>(f.Spec.RequestJson, Json) : null,
        f.MemberKeys.ToDictionary(m => m.Key, m => new MemberKeyRequest(Convert.ToBase64String(m.Value.PublicKey), Convert.ToBase64String(m.Value.Signature))),
        f.SealedKeys.ToDictionary(b => b.Key, b => Convert.ToBase64String(b.Value)),
        [.. f.Rounds.Select(r => new FederatedRoundResponse(r.Round, r.SessionId, r.CreatedAt, r.PodIds ?? []))], f.Releases,
        [.. f.Metrics.Select(m => new RoundMetricsResponse(m.Round, m.Values, m.ReportedAt))], f.FailureReason);

    /// <summary>
    /// A safety net for abandoned sessions: every round's four phase deadlines (roundTimeoutSeconds each), the channel's
    /// opening, plus ten minutes. A session that could not finish within 7 days is refused rather than cut short.
    /// </summary>
    private static TimeSpan Lifetime(int rounds, int roundTimeoutSeconds)
    {
        var seconds = (4.0 * rounds + 1) * roundTimeoutSeconds + 600;
        if (seconds > 7 * 86_400)
            throw SmpcException.Invalid($"{rounds} rounds of 4 phases at {roundTimeoutSeconds} s each could take longer than the 7 days a session may live; lower roundTimeoutSeconds or the rounds.");
        return TimeSpan.FromSeconds(seconds);
    }

    private static async Task<Results<Ok<SessionResponse>, ProblemHttpResult>> UploadReleaseAsync(
        string tenantId, string sessionId, string name, HttpContext http, ClaimsPrincipal user, IGrainFactory grains, Hosting.Quotas quotas)
    {
        if (!EntityKey.IsValidId(name)) throw SmpcException.Invalid($"A release is named by an id ({EntityKey.IdPattern}).");
        if (!PayloadStreaming.IsOctetStream(http)) return PayloadsApi.ProblemMappingShortcuts.UnsupportedMediaType($"Releases are sent as {PayloadStreaming.OctetStream}.");
        var session = Session(tenantId, sessionId, grains);
        var caller = user.ToCaller();
        using var activity = SmpcTelemetry.Gateway.StartActivity("federated.release.upload");
        activity?.SetTag(SmpcTelemetry.SessionAttribute, sessionId);
        var upload = await session.BeginReleaseAsync(caller, name);
        if (!PayloadStreaming.AllowBody(http, upload.MaxBytes)) return PayloadsApi.ProblemMappingShortcuts.TooLarge($"A release may hold at most {upload.MaxBytes} bytes.");
        var metered = await quotas.ForUploadAsync(caller.Tenant!, http.Request.ContentLength ?? 0);
        var manifest = await PayloadStreaming.UploadAsync(grains.GetPayload(PayloadKey.Parse(upload.PayloadKey)), upload.UploadId, http.Request.Body, upload.ChunkBytes, metered, http.RequestAborted);
        activity?.SetTag(SmpcTelemetry.BytesAttribute, manifest?.Length ?? 0);
        return Ok(await session.CommitReleaseAsync(caller, name));
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

    private static ISessionGrain Session(string tenantId, string sessionId, IGrainFactory grains) =>
        grains.GetSession(RouteIds.Key(tenantId, sessionId, "Session"));

    private static Ok<SessionResponse> Ok(SessionInfo info) => TypedResults.Ok(SessionsApi.ToResponse(info));

    /// <summary>Limits the gateway shares with the session grain.</summary>
    private static class SessionGrainLimits
    {
        public const int MaxPods = 50;
    }
}
