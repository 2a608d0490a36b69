using Microsoft.AspNetCore.Http.HttpResults;
using Smpc.Client.Contracts;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Tenancy;

namespace Smpc.ApiGateway.Apis;

/// <summary>Tenants: the isolation boundary.</summary>
public static class TenantsApi
{
    public static RouteGroupBuilder MapTenantsApi(this RouteGroupBuilder v1)
    {
        var tenants = v1.MapGroup("/tenants").WithTags("Tenants");
        tenants.MapPost("/", CreateAsync).WithName("CreateTenant").WithSummary("Creates a tenant (idempotent for identical data).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        tenants.MapGet("/{tenantId}", GetAsync).WithName("GetTenant").WithSummary("Reads a tenant.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return v1;
    }

    private static async Task<Created<TenantResponse>> CreateAsync(CreateTenantRequest request, IGrainFactory grains)
    {
        var id = RouteIds.BodyId(request.Id, "id");
        var info = await grains.GetTenant(id).CreateAsync(request.DisplayName);
        return TypedResults.Created($"/v1/tenants/{id}", ToResponse(info));
    }

    private static async Task<Ok<TenantResponse>> GetAsync(string tenantId, IGrainFactory grains) =>
        TypedResults.Ok(ToResponse(await grains.GetTenant(RouteIds.Tenant(tenantId)).GetAsync()));

    private static TenantResponse ToResponse(TenantInfo t) => new(t.Id, t.DisplayName, t.CreatedAt, t.PodCount, t.ModellerCount);
}
