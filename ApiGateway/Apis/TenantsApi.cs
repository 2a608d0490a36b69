using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Smpc.ApiGateway.Auth;
using Smpc.ApiGateway.Hosting;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Tenancy;

namespace Smpc.ApiGateway.Apis;

/// <summary>Tenants: the isolation boundary. The operator creates them; each gets an admin key, shown once.</summary>
public static class TenantsApi
{
    public static RouteGroupBuilder MapTenantsApi(this RouteGroupBuilder v1)
    {
        var tenants = v1.MapGroup("/tenants").WithTags("Tenants");
        tenants.MapPost("/", CreateAsync).WithName("CreateTenant")
            .WithSummary("Operator: creates a tenant and its first admin key (201, key shown once); an identical retry answers 200 without a key.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status409Conflict)
            .WithIdempotency();
        tenants.MapGet("/{tenantId}", GetAsync).WithName("GetTenant").WithSummary("Reads a tenant (operator or its members).")
            .ProducesProblem(StatusCodes.Status404NotFound);
        tenants.MapPost("/{tenantId}/admin-keys", IssueAdminKeyAsync).WithName("IssueAdminKey")
            .WithSummary("Operator or tenant admin: issues another admin key (rotation); shown once.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .WithIdempotency();
        tenants.MapGet("/{tenantId}/admin-keys", async Task<Ok<IReadOnlyList<CredentialResponse>>> (string tenantId, ClaimsPrincipal user, IGrainFactory grains) =>
                TypedResults.Ok(await KeysApi.DescribeAsync(await grains.GetTenant(RouteIds.Tenant(tenantId)).ListAdminKeyIdsAsync(user.ToCaller()), user, grains)))
            .WithName("ListAdminKeys").WithSummary("Tenant admin: the tenant's admin keys (never their secrets), revoked ones too, oldest first.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        tenants.MapGet("/{tenantId}/usage", UsageAsync).WithName("GetTenantUsage")
            .WithSummary("Tenant admin or operator: today's usage (UTC day: sessions running, payload bytes and PSI elements stored) beside the limits in force.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        tenants.MapPut("/{tenantId}/limits", async Task<Ok<TenantLimitsRequest>> (string tenantId, TenantLimitsRequest body, ClaimsPrincipal user, IGrainFactory grains) =>
            {
                var set = await grains.GetTenant(RouteIds.Tenant(tenantId)).SetLimitsAsync(user.ToCaller(),
                    new TenantLimits(body.RequestsPerSecond, body.Burst, body.MaxConcurrentSessions, body.PayloadBytesPerDay, body.PsiElementsPerDay));
                return TypedResults.Ok(new TenantLimitsRequest(set!.RequestsPerSecond, set.Burst, set.MaxConcurrentSessions, set.PayloadBytesPerDay, set.PsiElementsPerDay));
            })
            .WithName("SetTenantLimits").WithSummary("Operator: the tenant's request rate per credential (token bucket) and its quotas (sessions at once, payload bytes and PSI elements per UTC day); gateways apply them within seconds.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        return v1;
    }

    private static async Task<Results<Created<TenantResponse>, Ok<TenantResponse>>> CreateAsync(CreateTenantRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var id = RouteIds.BodyId(request.Id, "id");
        var (key, keyId, hash) = ApiKey.Generate();
        var registration = await grains.GetTenant(id).CreateAsync(user.ToCaller(), request.DisplayName, keyId, hash);
        var response = ToResponse(registration.Info);
        return registration.Created
            ? TypedResults.Created($"/v1/tenants/{id}", response with { AdminKey = new IssuedKeyResponse(keyId, key, nameof(CallerRole.TenantAdmin)) })
            : TypedResults.Ok(response);
    }

    private static async Task<Ok<TenantResponse>> GetAsync(string tenantId, ClaimsPrincipal user, IGrainFactory grains) =>
        TypedResults.Ok(ToResponse(await grains.GetTenant(RouteIds.Tenant(tenantId)).GetAsync(user.ToCaller())));

    private static async Task<Created<IssuedKeyResponse>> IssueAdminKeyAsync(string tenantId, ClaimsPrincipal user, IGrainFactory grains)
    {
        var (key, keyId, hash) = ApiKey.Generate();
        await grains.GetTenant(RouteIds.Tenant(tenantId)).IssueAdminKeyAsync(user.ToCaller(), keyId, hash);
        return TypedResults.Created($"/v1/tenants/{tenantId}/keys/{keyId}", new IssuedKeyResponse(keyId, key, nameof(CallerRole.TenantAdmin)));
    }

    private static async Task<Ok<TenantUsageResponse>> UsageAsync(
        string tenantId, ClaimsPrincipal user, IGrainFactory grains, TenantLimitsCache limitsCache, IOptions<QuotaOptions> quotas, IOptions<RateLimitOptions> rates, TimeProvider time)
    {
        var tenant = RouteIds.Tenant(tenantId);
        var caller = user.ToCaller();
        await grains.GetTenant(tenant).GetAsync(caller); // not found for another tenant's callers (and for a tenant that does not exist)
        if (caller.Role != CallerRole.Operator) caller.RequireRole(CallerRole.TenantAdmin);
        var day = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var usage = await grains.GetGrain<ITenantUsageGrain>($"{tenant}/{day}").GetAsync();
        var counts = await grains.GetGrain<ISessionIndexGrain>(tenant).GetCountsAsync();
        var running = counts.Where(c => c.Key is not (SessionPhase.Completed or SessionPhase.Failed or SessionPhase.Cancelled)).Sum(c => c.Value);
        var limits = await limitsCache.GetAsync(tenant);
        return TypedResults.Ok(new TenantUsageResponse(tenant, day, running,
            limits?.MaxConcurrentSessions ?? quotas.Value.MaxConcurrentSessions,
            usage.GetValueOrDefault(UsageKind.PayloadBytes), limits?.PayloadBytesPerDay ?? quotas.Value.PayloadBytesPerDay,
            usage.GetValueOrDefault(UsageKind.PsiElements), limits?.PsiElementsPerDay ?? quotas.Value.PsiElementsPerDay,
            limits?.RequestsPerSecond ?? rates.Value.RequestsPerSecond, limits?.Burst ?? rates.Value.Burst));
    }

    private static TenantResponse ToResponse(TenantInfo t) => new(t.Id, t.DisplayName, t.CreatedAt, t.PodCount, t.ModellerCount);
}
