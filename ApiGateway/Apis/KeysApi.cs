using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Smpc.ApiGateway.Auth;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;

namespace Smpc.ApiGateway.Apis;

/// <summary>API keys of a tenant (read and revoke), and who the caller is.</summary>
public static class KeysApi
{
    public static RouteGroupBuilder MapKeysApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/me", (ClaimsPrincipal user) =>
            {
                var caller = user.ToCaller();
                return TypedResults.Ok(new WhoAmIResponse(caller.Role.ToString(), caller.Tenant, caller.Subject, caller.KeyId));
            })
            .WithTags("Keys").WithName("WhoAmI").WithSummary("Who the presented credential acts as.");

        var keys = v1.MapGroup("/tenants/{tenantId}/keys").WithTags("Keys");
        keys.MapGet("/{keyId}", async Task<Ok<CredentialResponse>> (string tenantId, string keyId, ClaimsPrincipal user, IGrainFactory grains) =>
                TypedResults.Ok(ToResponse(await InTenantAsync(tenantId, keyId, user, grains))))
            .WithName("GetKey").WithSummary("Tenant admin: what is stored of a key (never its secret).")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        keys.MapDelete("/{keyId}", async Task<Ok<CredentialResponse>> (string tenantId, string keyId, ClaimsPrincipal user, IGrainFactory grains, int afterSeconds = 0) =>
            {
                await InTenantAsync(tenantId, keyId, user, grains);
                return TypedResults.Ok(ToResponse(await Credential(tenantId, keyId, grains).RevokeAsync(user.ToCaller(), TimeSpan.FromSeconds(afterSeconds))));
            })
            .WithName("RevokeKey")
            .WithSummary("Tenant admin: revokes a key of the tenant, at once on every gateway, or after afterSeconds (≤ 30 days: a rotation's overlap). Idempotent; an earlier time wins.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        return v1;
    }

    /// <summary>The key, if it belongs to the tenant the path names; a key of any other tenant is not found there.</summary>
    private static async Task<CredentialInfo> InTenantAsync(string tenantId, string keyId, ClaimsPrincipal user, IGrainFactory grains)
    {
        var info = await Credential(tenantId, keyId, grains).GetAsync(user.ToCaller());
        return info.Tenant == tenantId ? info : throw SmpcException.NotFound($"Key '{keyId}'");
    }

    private static ICredentialGrain Credential(string tenantId, string keyId, IGrainFactory grains)
    {
        RouteIds.Tenant(tenantId);
        if (keyId.Length != 16 || !keyId.All(char.IsAsciiHexDigitLower)) throw SmpcException.NotFound($"Key '{keyId}'");
        return grains.GetGrain<ICredentialGrain>(keyId);
    }

    /// <summary>The stored description of each key id (all of the caller's tenant), oldest first.</summary>
    internal static async Task<IReadOnlyList<CredentialResponse>> DescribeAsync(IReadOnlyList<string> keyIds, ClaimsPrincipal user, IGrainFactory grains)
    {
        var caller = user.ToCaller();
        var infos = await Task.WhenAll(keyIds.Distinct(StringComparer.Ordinal).Select(id => grains.GetGrain<ICredentialGrain>(id).GetAsync(caller)));
        return [.. infos.OrderBy(c => c.CreatedAt).Select(ToResponse)]; // stable: keys issued in the same instant keep their order of issue
    }

    private static CredentialResponse ToResponse(CredentialInfo c) =>
        new(c.KeyId, c.Role.ToString(), c.Tenant, c.Subject, c.CreatedAt, c.RevokedAt);
}
