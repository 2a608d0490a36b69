using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Smpc.ApiGateway.Auth;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Keys;

namespace Smpc.ApiGateway.Apis;

/// <summary>
/// A tenant's append-only audit log: read page by page by its admin (a pod reads the entries that involve itself) and
/// exported as JSON lines. Only GET routes exist: no request can alter or delete an entry (other methods answer 405).
/// </summary>
public static class AuditApi
{
    /// <summary>Query parameters shared by the audit reads.</summary>
    /// <param name="After">Entries after this sequence number (a previous page's <c>next</c>).</param>
    /// <param name="Limit">At most this many entries (1–500, default 100).</param>
    /// <param name="Type">An event type, or a family such as <c>session.*</c>.</param>
    /// <param name="Session">Entries about this session.</param>
    /// <param name="Actor">Entries caused by this role (e.g. Pod, Service), subject id or key id.</param>
    /// <param name="Since">Entries recorded at or after this time.</param>
    /// <param name="Until">Entries recorded before this time.</param>
    public readonly record struct AuditParameters(
        [FromQuery(Name = "after")] long? After,
        [FromQuery(Name = "limit")] int? Limit,
        [FromQuery(Name = "type")] string? Type,
        [FromQuery(Name = "session")] string? Session,
        [FromQuery(Name = "actor")] string? Actor,
        [FromQuery(Name = "since")] DateTimeOffset? Since,
        [FromQuery(Name = "until")] DateTimeOffset? Until);

    public static RouteGroupBuilder MapAuditApi(this RouteGroupBuilder v1)
    {
        var tenant = v1.MapGroup("/tenants/{tenantId}").WithTags("Audit");
        tenant.MapGet("/audit", ListAsync).WithName("ListAuditEntries")
            .WithSummary("Tenant admin: a page of the tenant's audit log (oldest first), filtered by type, session, actor, pod and time; follow next for the rest.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        tenant.MapGet("/audit/export", ExportAsync).WithName("ExportAuditEntries")
            .WithSummary("Tenant admin: every (filtered) entry of the audit log as JSON lines (application/x-ndjson), streamed page by page up to the head at the start.")
            .Produces<AuditEntryResponse>(StatusCodes.Status200OK, AuditEventTypes.JsonLines)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        tenant.MapGet("/pods/{podId}/audit", ListPodAsync).WithName("ListPodAuditEntries")
            .WithSummary("The pod itself (or its admin): a page of the audit entries that involve the pod: its keys, its registration and every event of its sessions.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        return v1;
    }

    private static async Task<Ok<AuditPageResponse>> ListAsync(
        string tenantId, [AsParameters] AuditParameters parameters, ClaimsPrincipal user, IGrainFactory grains, string? pod = null) =>
        TypedResults.Ok(ToResponse(await grains.GetAuditLog(RouteIds.Tenant(tenantId)).QueryAsync(user.ToCaller(), ToQuery(parameters, pod))));

    private static async Task<Ok<AuditPageResponse>> ListPodAsync(
        string tenantId, string podId, [AsParameters] AuditParameters parameters, ClaimsPrincipal user, IGrainFactory grains)
    {
        var key = RouteIds.Key(tenantId, podId, "Pod");
        var caller = user.ToCaller();
        await grains.GetPod(key).GetAsync(caller); // the pod exists in the caller's tenant (the log checks who may read it)
        return TypedResults.Ok(ToResponse(await grains.GetAuditLog(key.Tenant).QueryAsync(caller, ToQuery(parameters, key.Id))));
    }

    private static async Task<PushStreamHttpResult> ExportAsync(
        string tenantId, [AsParameters] AuditParameters parameters, ClaimsPrincipal user, IGrainFactory grains, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
        string? pod = null)
    {
        var log = grains.GetAuditLog(RouteIds.Tenant(tenantId));
        var caller = user.ToCaller();
        var query = ToQuery(parameters, pod) with { Limit = AuditQuery.MaxLimit };
        // The first page is read before the response starts, so a refusal is still a problem response, not a cut stream.
        var first = await log.QueryAsync(caller, query);
        query = query with { Through = first.Head }; // a snapshot: the export ends even while events keep arriving
        return TypedResults.Stream(async body =>
        {
            for (var page = first; ; page = await log.QueryAsync(caller, query with { After = page.Next!.Value }))
            {
                foreach (var entry in page.Entries)
                {
                    await JsonSerializer.SerializeAsync(body, ToResponse(entry), json.Value.SerializerOptions);
                    await body.WriteAsync(NewLine);
                }

                await body.FlushAsync();
                if (page.Next is null) break;
            }
        }, AuditEventTypes.JsonLines);
    }

    private static readonly ReadOnlyMemory<byte> NewLine = "\n"u8.ToArray();

    private static AuditQuery ToQuery(AuditParameters p, string? pod) => new(
        p.After ?? 0, p.Limit ?? AuditQuery.DefaultLimit, Blank(p.Type), Blank(p.Session), Blank(p.Actor), Blank(pod), p.Since, p.Until);

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static AuditPageResponse ToResponse(AuditQueryResult r) => new([.. r.Entries.Select(ToResponse)], r.Next, r.Head);

    private static AuditEntryResponse ToResponse(AuditEntry e) => new(
        e.Sequence, e.Time, e.Type, new AuditActorResponse(e.Actor.Role, e.Actor.Subject, e.Actor.KeyId), e.Session, e.Pods, e.Modeller, e.KeyId, e.TraceId, e.Detail);
}
