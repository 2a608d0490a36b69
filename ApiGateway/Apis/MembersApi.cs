using Microsoft.AspNetCore.Http.HttpResults;
using Smpc.Client.Contracts;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Tenancy;

namespace Smpc.ApiGateway.Apis;

/// <summary>Pods and modellers of a tenant.</summary>
public static class MembersApi
{
    public static RouteGroupBuilder MapMembersApi(this RouteGroupBuilder v1)
    {
        var pods = v1.MapGroup("/tenants/{tenantId}/pods").WithTags("Pods");
        pods.MapPost("/", (string tenantId, RegisterMemberRequest request, IGrainFactory grains) =>
                RegisterAsync(tenantId, request, "pods", key => grains.GetPod(key).RegisterAsync(request.DisplayName)))
            .WithName("RegisterPod").WithSummary("Registers a pod in a tenant (idempotent for identical data).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        pods.MapGet("/{podId}", async Task<Ok<MemberResponse>> (string tenantId, string podId, IGrainFactory grains) =>
                TypedResults.Ok(ToResponse(await grains.GetPod(RouteIds.Key(tenantId, podId, "Pod")).GetAsync())))
            .WithName("GetPod").WithSummary("Reads a pod.").ProducesProblem(StatusCodes.Status404NotFound);
        pods.MapGet("/", async Task<Ok<IReadOnlyList<string>>> (string tenantId, IGrainFactory grains) =>
                TypedResults.Ok(await grains.GetTenant(RouteIds.Tenant(tenantId)).ListMembersAsync(MemberKind.Pod)))
            .WithName("ListPods").WithSummary("Lists the ids of a tenant's pods.").ProducesProblem(StatusCodes.Status404NotFound);

        var modellers = v1.MapGroup("/tenants/{tenantId}/modellers").WithTags("Modellers");
        modellers.MapPost("/", (string tenantId, RegisterMemberRequest request, IGrainFactory grains) =>
                RegisterAsync(tenantId, request, "modellers", key => grains.GetModeller(key).RegisterAsync(request.DisplayName)))
            .WithName("RegisterModeller").WithSummary("Registers a modeller in a tenant (idempotent for identical data).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        modellers.MapGet("/{modellerId}", async Task<Ok<MemberResponse>> (string tenantId, string modellerId, IGrainFactory grains) =>
                TypedResults.Ok(ToResponse(await grains.GetModeller(RouteIds.Key(tenantId, modellerId, "Modeller")).GetAsync())))
            .WithName("GetModeller").WithSummary("Reads a modeller.").ProducesProblem(StatusCodes.Status404NotFound);
        modellers.MapGet("/", async Task<Ok<IReadOnlyList<string>>> (string tenantId, IGrainFactory grains) =>
                TypedResults.Ok(await grains.GetTenant(RouteIds.Tenant(tenantId)).ListMembersAsync(MemberKind.Modeller)))
            .WithName("ListModellers").WithSummary("Lists the ids of a tenant's modellers.").ProducesProblem(StatusCodes.Status404NotFound);
        return v1;
    }

    private static async Task<Created<MemberResponse>> RegisterAsync(
        string tenantId, RegisterMemberRequest request, string collection, Func<EntityKey, Task<MemberInfo>> register)
    {
        var key = new EntityKey(RouteIds.Tenant(tenantId), RouteIds.BodyId(request.Id, "id"));
        var info = await register(key);
        return TypedResults.Created($"/v1/tenants/{key.Tenant}/{collection}/{key.Id}", ToResponse(info));
    }

    private static MemberResponse ToResponse(MemberInfo m) => new(m.Tenant, m.Id, m.DisplayName, m.RegisteredAt);
}
