using System.Buffers.Text;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Smpc.ApiGateway.Auth;
using Smpc.ApiGateway.Hosting;
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
            .ProducesProblem(StatusCodes.Status429TooManyRequests).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithIdempotency();
        sessions.MapGet("/", ListAsync).WithName("ListSessions")
            .WithSummary("The sessions the caller may see (tenant admin: all of the tenant's; modeller: those it created; pod: those it is in), filtered by kind, phase (comma-separated names, active, ended), modeller, pod, createdAfter/createdBefore, endedAfter/endedBefore (RFC 3339; after inclusive, before exclusive); newest first, limit (1–500, default 100) per page, the next page with cursor=next.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        sessions.MapGet("/{sessionId}", GetAsync).WithName("GetSession")
            .WithSummary("Reads a session (its modeller, its pods, the tenant admin). With waitForVersion it long-polls: it answers when the version differs, or after waitSeconds (≤ 20).")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithLongPoll("waitForVersion");
        sessions.MapPost("/{sessionId}/cancel", CancelAsync).WithName("CancelSession")
            .WithSummary("Its modeller or the tenant admin: cancels the session (and a federated session's rounds) with an optional reason; idempotent. Later protocol messages get 409.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithIdempotency();
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

    /// <summary>
    /// The caller's sessions from the tenant's session index, filtered, newest first (createdAt desc, then id), one page at a
    /// time: the cursor names the last row returned, so sessions created or changed between pages neither repeat nor vanish.
    /// </summary>
    private static async Task<Ok<SessionPageResponse>> ListAsync(
        string tenantId, ClaimsPrincipal user, IGrainFactory grains, string? kind = null, string? phase = null, string? modeller = null, string? pod = null,
        string? createdAfter = null, string? createdBefore = null, string? endedAfter = null, string? endedBefore = null, int limit = 100, string? cursor = null)
    {
        if (limit is < 1 or > SessionListQuery.MaxLimit) throw SmpcException.Invalid($"limit must be 1 to {SessionListQuery.MaxLimit}.");
        var tenant = RouteIds.Tenant(tenantId);
        var query = new SessionListQuery(
            kind is null ? null : SessionListing.Kind(kind), phase is null ? null : SessionListing.Phases(phase),
            modeller is null ? null : SessionListing.Id(modeller, "modeller"), pod is null ? null : SessionListing.Id(pod, "pod"),
            SessionListing.Time(createdAfter, "createdAfter"), SessionListing.Time(createdBefore, "createdBefore"),
            SessionListing.Time(endedAfter, "endedAfter"), SessionListing.Time(endedBefore, "endedBefore"),
            limit, cursor is null ? null : SessionListing.DecodeCursor(cursor));
        var page = await grains.GetGrain<ISessionIndexGrain>(tenant).ListAsync(user.ToCaller(), query);
        return TypedResults.Ok(new SessionPageResponse([.. page.Items.Select(r => SessionListing.ToResponse(tenant, r))],
            page.Next is null ? null : SessionListing.EncodeCursor(page.Next)));
    }
}

/// <summary>The session list's query values and cursor on the wire.</summary>
internal static class SessionListing
{
    public static SessionKind Kind(string kind) => kind switch
    {
        SessionKinds.SecureAggregation => SessionKind.SecureAggregation,
        SessionKinds.Psi => SessionKind.PrivateSetIntersection,
        SessionKinds.Query => SessionKind.FederatedQuery,
        SessionKinds.Training => SessionKind.FederatedTraining,
        _ => throw SmpcException.Invalid($"kind must be '{SessionKinds.SecureAggregation}', '{SessionKinds.Psi}', '{SessionKinds.Query}' or '{SessionKinds.Training}'."),
    };

    public static string KindName(SessionKind kind) => kind switch
    {
        SessionKind.SecureAggregation => SessionKinds.SecureAggregation,
        SessionKind.PrivateSetIntersection => SessionKinds.Psi,
        SessionKind.FederatedQuery => SessionKinds.Query,
        _ => SessionKinds.Training,
    };

    private static readonly SessionPhase[] Ended = [SessionPhase.Completed, SessionPhase.Failed, SessionPhase.Cancelled];

    /// <summary>Comma-separated phase names (as <c>SessionResponse.phase</c>), or <c>active</c> / <c>ended</c>.</summary>
    public static IReadOnlyList<SessionPhase> Phases(string phases)
    {
        var set = new HashSet<SessionPhase>();
        foreach (var raw in phases.Split(',', StringSplitOptions.TrimEntries))
        {
            if (raw.Equals("active", StringComparison.OrdinalIgnoreCase)) set.UnionWith(Enum.GetValues<SessionPhase>().Except(Ended));
            else if (raw.Equals("ended", StringComparison.OrdinalIgnoreCase)) set.UnionWith(Ended);
            else if (Enum.GetValues<SessionPhase>().FirstOrDefault(p => SessionMapping.PhaseName(p).Equals(raw, StringComparison.OrdinalIgnoreCase)
                         || p.ToString().Equals(raw, StringComparison.OrdinalIgnoreCase)) is var found && found != default)
                set.Add(found);
            else
                throw SmpcException.Invalid($"phase '{raw}' is not a session phase: use {string.Join(", ", Enum.GetValues<SessionPhase>().Select(SessionMapping.PhaseName).Distinct())}, active or ended (comma-separated).");
        }

        return [.. set.Order()];
    }

    public static string Id(string id, string name) =>
        EntityKey.IsValidId(id) ? id : throw SmpcException.Invalid($"{name} must match {EntityKey.IdPattern}.");

    /// <summary>An RFC 3339 time (with an offset or Z).</summary>
    public static DateTimeOffset? Time(string? value, string name)
    {
        if (value is null) return null;
        return DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t)
            ? t
            : throw SmpcException.Invalid($"{name} must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z.");
    }

    private const string CursorPrefix = "s1.";

    public static string EncodeCursor(SessionCursor cursor) =>
        Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes($"{CursorPrefix}{cursor.CreatedAtTicks.ToString(System.Globalization.CultureInfo.InvariantCulture)}.{cursor.Id}"));

    public static SessionCursor DecodeCursor(string cursor)
    {
        var bad = SmpcException.Invalid("cursor is not a cursor this list returned (pass a page's next as it is).");
        string text;
        try
        {
            if (cursor.Length > 200) throw bad;
            text = System.Text.Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
        }
        catch (FormatException)
        {
            throw bad;
        }

        if (!text.StartsWith(CursorPrefix, StringComparison.Ordinal)) throw bad;
        var rest = text[CursorPrefix.Length..];
        var dot = rest.IndexOf('.');
        if (dot < 1 || !long.TryParse(rest[..dot], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ticks)
            || ticks > DateTimeOffset.MaxValue.UtcTicks) throw bad;
        var id = rest[(dot + 1)..];
        if (id.Length != 0 && !EntityKey.IsValidId(id)) throw bad;
        return new SessionCursor(ticks, id);
    }

    public static SessionSummaryResponse ToResponse(string tenant, SessionSummary r) => new(
        tenant, r.Id, KindName(r.Kind), SessionMapping.PhaseName(r.Phase), r.ModellerId, r.PodIds, r.CreatedAt, r.UpdatedAt, r.EndedAt, r.Version, r.Parent);

}
