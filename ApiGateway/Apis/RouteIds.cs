using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;

namespace Smpc.ApiGateway.Apis;

/// <summary>Turns route and body ids into keys; an id that cannot exist is reported as not found (route) or invalid (body).</summary>
internal static class RouteIds
{
    public static EntityKey Key(string tenantId, string id, string what) =>
        EntityKey.IsValidId(tenantId) && EntityKey.IsValidId(id) ? new EntityKey(tenantId, id) : throw SmpcException.NotFound($"{what} '{id}'");

    public static string Tenant(string tenantId) =>
        EntityKey.IsValidId(tenantId) ? tenantId : throw SmpcException.NotFound($"Tenant '{tenantId}'");

    public static string BodyId(string? id, string field) =>
        EntityKey.IsValidId(id) ? id : throw SmpcException.Invalid($"{field} must match {EntityKey.IdPattern}.");
}
