using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Smpc.ApiGateway.Auth;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Interfaces.Tenancy;
using CallerRole = Smpc.Grains.Interfaces.Access.CallerRole;

namespace Smpc.ApiGateway.Apis;

/// <summary>Protocol sessions.</summary>
public static class SessionsApi
{
    public static RouteGroupBuilder MapSessionsApi(this RouteGroupBuilder v1)
    {
        var sessions = v1.MapGroup("/tenants/{tenantId}/sessions").WithTags("Sessions");
        sessions.MapPost("/", CreateAsync).WithName("CreateSession")
            .WithSummary("Modeller: creates a session for itself with registered pods (idempotent for identical data); 429 beyond the tenant's concurrent-session quota.")
            .ProducesProblem(StatusCodes.Status429TooManyRequests).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        sessions.MapGet("/", ListAsync).WithName("ListSessions")
            .WithSummary("The sessions the caller may see, newest first: the tenant admin all of the tenant's (as its pods list them), a modeller those it created, a pod those it is in; at most limit (1–500, default 100).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        sessions.MapGet("/{sessionId}", GetAsync).WithName("GetSession")
            .WithSummary("Reads a session (its modeller, its pods, the tenant admin). With waitForVersion it long-polls: it answers when the version differs, or after waitSeconds (≤ 20).")
            .ProducesProblem(StatusCodes.Status404NotFound);
        sessions.MapPost("/{sessionId}/cancel", CancelAsync).WithName("CancelSession")
            .WithSummary("Its modeller or the tenant admin: cancels the session (and a federated session's rounds) with an optional reason; idempotent. Later protocol messages get 409.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return v1;
    }

    private static async Task<Created<SessionResponse>> CreateAsync(
        string tenantId, CreateSessionRequest request, ClaimsPrincipal user, IGrainFactory grains, Hosting.Quotas quotas)
    {
        var key = new EntityKey(RouteIds.Tenant(tenantId), RouteIds.BodyId(request.Id, "id"));
        var caller = user.ToCaller();
        // Only the tenant's own modellers take its session slots (anyone else is refused by the grain anyway).
        if (caller.Tenant == key.Tenant && caller.Role == Grains.Interfaces.Access.CallerRole.Modeller) await quotas.RequireSessionSlotAsync(key.Tenant, key.Id);
        var kind = request.Kind switch
        {
            SessionKinds.SecureAggregation => SessionKind.SecureAggregation,
            SessionKinds.Psi => SessionKind.PrivateSetIntersection,
            SessionKinds.Query => SessionKind.FederatedQuery,
            SessionKinds.Training => SessionKind.FederatedTraining,
            _ => throw SmpcException.Invalid($"kind must be '{SessionKinds.SecureAggregation}', '{SessionKinds.Psi}', '{SessionKinds.Query}' or '{SessionKinds.Training}'."),
        };
        var aggregation = kind == SessionKind.SecureAggregation ? ToSpec(request.Aggregation) : null;
        var psi = kind == SessionKind.PrivateSetIntersection ? PsiApi.ToSpec(request.Psi) : null;
        var federated = kind switch
        {
            SessionKind.FederatedQuery => FederatedApi.ToSpec(request.Query),
            SessionKind.FederatedTraining => FederatedApi.ToSpec(request.Training),
            _ => null,
        };
        var parent = request.Parent is null ? null : RouteIds.BodyId(request.Parent, "parent");
        var info = await grains.GetSession(key).CreateAsync(caller,
            new CreateSession(RouteIds.BodyId(request.ModellerId, "modellerId"), kind, request.PodIds ?? [], aggregation, psi, federated, parent));
        return TypedResults.Created($"/v1/tenants/{key.Tenant}/sessions/{key.Id}", ToResponse(info));
    }

    private static async Task<Ok<SessionResponse>> GetAsync(
        string tenantId, string sessionId, ClaimsPrincipal user, IGrainFactory grains, int? waitForVersion = null, int waitSeconds = 20)
    {
        var session = grains.GetSession(RouteIds.Key(tenantId, sessionId, "Session"));
        var info = waitForVersion is { } known
            ? await session.WaitForChangeAsync(user.ToCaller(), known, TimeSpan.FromSeconds(Math.Clamp(waitSeconds, 0, 20)))
            : await session.GetAsync(user.ToCaller());
        return TypedResults.Ok(ToResponse(info));
    }

    private static async Task<Ok<SessionResponse>> CancelAsync(
        string tenantId, string sessionId, CancelSessionRequest? request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var info = await grains.GetSession(RouteIds.Key(tenantId, sessionId, "Session")).CancelAsync(user.ToCaller(), request?.Reason);
        return TypedResults.Ok(ToResponse(info));
    }

    /// <summary>Most sessions one list answers.</summary>
    private const int MaxListed = 500;

    private static async Task<Ok<IReadOnlyList<SessionResponse>>> ListAsync(string tenantId, ClaimsPrincipal user, IGrainFactory grains, int limit = 100)
    {
        if (limit is < 1 or > MaxListed) throw SmpcException.Invalid($"limit must be 1 to {MaxListed}.");
        var tenant = RouteIds.Tenant(tenantId);
        var caller = user.ToCaller();
        // Each index is read as its owner grain allows (a caller of another tenant gets 404 there); newest last in every list.
        IEnumerable<string> candidates = caller.Role switch
        {
            CallerRole.Pod => (await grains.GetPod(new EntityKey(tenant, caller.Subject!)).ListSessionsAsync(caller)).TakeLast(limit),
            CallerRole.Modeller => (await grains.GetModeller(new EntityKey(tenant, caller.Subject!)).ListSessionsAsync(caller)).TakeLast(limit),
            // Every session has at least one pod, so the pods' lists hold all of them; the newest `limit` overall are among each pod's newest `limit`.
            CallerRole.TenantAdmin => (await Task.WhenAll((await grains.GetTenant(tenant).ListMembersAsync(caller, MemberKind.Pod))
                    .Select(p => grains.GetPod(new EntityKey(tenant, p)).ListSessionsAsync(caller))))
                .SelectMany(ids => ids.TakeLast(limit)).Distinct(StringComparer.Ordinal),
            _ => throw SmpcException.NotFound($"Tenant '{tenant}'"),
        };
        var read = await Task.WhenAll(candidates.Select(async id =>
        {
            try
            {
                return await grains.GetSession(new EntityKey(tenant, id)).GetAsync(caller);
            }
            catch (SmpcException e) when (e.Code == SmpcErrorCode.NotFound)
            {
                return null; // listed but never stored (a create that crashed before its write)
            }
        }));
        return TypedResults.Ok<IReadOnlyList<SessionResponse>>([.. read.OfType<SessionInfo>()
            .OrderByDescending(s => s.CreatedAt).ThenBy(s => s.Id, StringComparer.Ordinal).Take(limit).Select(ToResponse)]);
    }

    internal static SessionResponse ToResponse(SessionInfo s) => new(
        s.Tenant, s.Id, s.ModellerId,
        s.Kind switch
        {
            SessionKind.SecureAggregation => SessionKinds.SecureAggregation,
            SessionKind.PrivateSetIntersection => SessionKinds.Psi,
            SessionKind.FederatedQuery => SessionKinds.Query,
            _ => SessionKinds.Training,
        },
        s.PodIds, PhaseName(s.Phase), s.CreatedAt, s.Version, s.Aggregation is { } a ? ToResponse(a, s.PodIds) : null, s.TraceParent, s.Psi is { } p ? PsiApi.ToResponse(p) : null,
        s.Federated is { } f ? FederatedApi.ToResponse(s.Kind, f) : null, s.Parent,
        s.Cancellation is { } c ? new CancellationResponse(c.Role, c.By, c.Reason, c.At) : null);

    private static string PhaseName(SessionPhase phase) => phase switch
    {
        SessionPhase.Created => SessionPhases.Created,
        SessionPhase.KeyExchange => SessionPhases.KeyExchange,
        SessionPhase.ShareExchange => SessionPhases.ShareExchange,
        SessionPhase.MaskedInput => SessionPhases.MaskedInput,
        SessionPhase.Unmasking => SessionPhases.Unmasking,
        SessionPhase.Completed => SessionPhases.Completed,
        SessionPhase.AwaitingPod => SessionPhases.AwaitingPod,
        SessionPhase.Exchange => SessionPhases.Exchange,
        SessionPhase.Answered => SessionPhases.Answered,
        SessionPhase.Running => SessionPhases.Running,
        SessionPhase.Cancelled => SessionPhases.Cancelled,
        _ => SessionPhases.Failed,
    };

    private static readonly Dictionary<string, AggregationOperation> Operations = new(StringComparer.Ordinal)
    {
        ["sum"] = AggregationOperation.Sum,
        ["mean"] = AggregationOperation.Mean,
        ["weighted-mean"] = AggregationOperation.WeightedMean,
    };

    private static AggregationSpec ToSpec(AggregationRequest? request)
    {
        if (request is null) throw SmpcException.Invalid("A secure-aggregation session needs 'aggregation' (fields, operation, modellerPublicKey, input).");
        if (request.Fields is not { Count: > 0 }) throw SmpcException.Invalid("aggregation.fields must name at least one field.");
        if (!Operations.TryGetValue(request.Operation ?? "", out var operation)) throw SmpcException.Invalid("aggregation.operation must be sum, mean or weighted-mean.");
        byte[] modellerKey;
        try
        {
            modellerKey = Convert.FromBase64String(request.ModellerPublicKey ?? "");
        }
        catch (FormatException)
        {
            throw SmpcException.Invalid("aggregation.modellerPublicKey must be base64.");
        }

        Dictionary<SessionPhase, TimeSpan>? perPhase = null;
        if (request.PhaseTimeouts is { Count: > 0 } timeouts)
        {
            perPhase = [];
            foreach (var (name, seconds) in timeouts)
            {
                var phase = PhaseByName.GetValueOrDefault(name);
                if (phase is not (SessionPhase.KeyExchange or SessionPhase.ShareExchange or SessionPhase.MaskedInput or SessionPhase.Unmasking))
                    throw SmpcException.Invalid($"phaseTimeouts: '{name}' is not key-exchange, share-exchange, masked-input or unmasking.");
                perPhase[phase] = TimeSpan.FromSeconds(seconds);
            }
        }

        return new AggregationSpec(
            [.. request.Fields.Select(f => new AggregationField(f.Name ?? "", f.Length, f.Precision ?? 10_000_000_000, f.Min, f.Max, f.Shape))],
            operation, request.Threshold, modellerKey, TimeSpan.FromSeconds(request.PhaseTimeoutSeconds), request.Input ?? "", request.WeightField, perPhase,
            request.Weight is { } w ? new AggregationWeight(w.Min, w.Max, w.Precision ?? 1) : null);
    }

    private static readonly Dictionary<string, SessionPhase> PhaseByName = Enum.GetValues<SessionPhase>().ToDictionary(PhaseName, p => p);

    private static AggregationStatusResponse ToResponse(AggregationStatus a, IReadOnlyList<string> pods) => new(
        a.ProtocolSessionId, a.Threshold,
        [.. a.Spec.Fields.Select(f => new AggregationFieldRequest(f.Name, f.Length, f.Min, f.Max, f.Precision, f.Shape))],
        Operations.Single(o => o.Value == a.Spec.Operation).Key, a.Spec.Input, a.Spec.Weight is { } w ? new AggregationWeightRequest(w.Min, w.Max, w.Precision) : null, Convert.ToBase64String(a.Spec.ModellerPublicKey),
        a.Spec.PhaseTimeouts?.ToDictionary(p => PhaseName(p.Key), p => (int)p.Value.TotalSeconds), a.PhaseDeadline, a.KeyBundles, a.ShareSenders, a.MaskedInputs, a.UnmaskResponses, a.Dropped, a.Included, a.FailureReason,
        [.. pods.Select((pod, i) => PodStatus(a, pod, i + 1))]);

    /// <summary>A survivor that declined in the unmasking step is still included (its masked vector is in the sum), with its category.</summary>
    private static AggregationPodResponse PodStatus(AggregationStatus a, string pod, int party)
    {
        var category = a.Declined?.GetValueOrDefault(party);
        return a.Included?.Contains(party) == true ? new(pod, party, PodStatuses.Included, category)
            : category is not null ? new(pod, party, PodStatuses.Declined, category)
            : a.Dropped.Contains(party) ? new(pod, party, PodStatuses.Dropped)
            : new(pod, party, PodStatuses.Active);
    }
}
