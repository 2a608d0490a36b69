using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Smpc.ApiGateway.Auth;
using Smpc.ApiGateway.Mapping;
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
        var info = await grains.GetSession(key).CreateAsync(caller, SessionMapping.ToCommand(request));
        return TypedResults.Created($"/v1/tenants/{key.Tenant}/sessions/{key.Id}", SessionMapping.ToResponse(info));
    }

    private static async Task<Ok<SessionResponse>> GetAsync(
        string tenantId, string sessionId, ClaimsPrincipal user, IGrainFactory grains, int? waitForVersion = null, int waitSeconds = 20)
    {
        var session = grains.GetSession(RouteIds.Key(tenantId, sessionId, "Session"));
        var info = waitForVersion is { } known
            ? await session.WaitForChangeAsync(user.ToCaller(), known, TimeSpan.FromSeconds(Math.Clamp(waitSeconds, 0, 20)))
            : await session.GetAsync(user.ToCaller());
        return TypedResults.Ok(SessionMapping.ToResponse(info));
    }

    private static async Task<Ok<SessionResponse>> CancelAsync(
        string tenantId, string sessionId, CancelSessionRequest? request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var info = await grains.GetSession(RouteIds.Key(tenantId, sessionId, "Session")).CancelAsync(user.ToCaller(), request?.Reason, Mapping.SessionMapping.Signature(request?.Signature, "signature"));
        return TypedResults.Ok(SessionMapping.ToResponse(info));
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
            .OrderByDescending(s => s.CreatedAt).ThenBy(s => s.Id, StringComparer.Ordinal).Take(limit).Select(SessionMapping.ToResponse)]);
    }







}
