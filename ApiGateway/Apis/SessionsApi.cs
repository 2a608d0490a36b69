using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Smpc.ApiGateway.Auth;
using Smpc.Client.Contracts;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.ApiGateway.Apis;

/// <summary>Protocol sessions.</summary>
public static class SessionsApi
{
    public static RouteGroupBuilder MapSessionsApi(this RouteGroupBuilder v1)
    {
        var sessions = v1.MapGroup("/tenants/{tenantId}/sessions").WithTags("Sessions");
        sessions.MapPost("/", CreateAsync).WithName("CreateSession")
            .WithSummary("Modeller: creates a session for itself with registered pods (idempotent for identical data).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        sessions.MapGet("/{sessionId}", GetAsync).WithName("GetSession").WithSummary("Reads a session (its modeller, its pods, the tenant admin).")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return v1;
    }

    private static async Task<Created<SessionResponse>> CreateAsync(string tenantId, CreateSessionRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var key = new EntityKey(RouteIds.Tenant(tenantId), RouteIds.BodyId(request.Id, "id"));
        var kind = request.Kind switch
        {
            SessionKinds.SecureAggregation => SessionKind.SecureAggregation,
            SessionKinds.Psi => SessionKind.PrivateSetIntersection,
            _ => throw SmpcException.Invalid($"kind must be '{SessionKinds.SecureAggregation}' or '{SessionKinds.Psi}'."),
        };
        var info = await grains.GetSession(key).CreateAsync(user.ToCaller(), new CreateSession(RouteIds.BodyId(request.ModellerId, "modellerId"), kind, request.PodIds ?? []));
        return TypedResults.Created($"/v1/tenants/{key.Tenant}/sessions/{key.Id}", ToResponse(info));
    }

    private static async Task<Ok<SessionResponse>> GetAsync(string tenantId, string sessionId, ClaimsPrincipal user, IGrainFactory grains) =>
        TypedResults.Ok(ToResponse(await grains.GetSession(RouteIds.Key(tenantId, sessionId, "Session")).GetAsync(user.ToCaller())));

    internal static SessionResponse ToResponse(SessionInfo s) => new(
        s.Tenant, s.Id, s.ModellerId,
        s.Kind == SessionKind.SecureAggregation ? SessionKinds.SecureAggregation : SessionKinds.Psi,
        s.PodIds, s.Phase.ToString().ToLowerInvariant(), s.CreatedAt, s.Version);
}
