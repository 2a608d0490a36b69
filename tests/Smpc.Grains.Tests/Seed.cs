using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Tests;

/// <summary>Creates a tenant with three pods and a modeller, the smallest cast a session needs.</summary>
internal static class Seed
{
    public static string NewTenantId() => "t-" + Guid.NewGuid().ToString("N")[..10];

    public static async Task<string> TenantWithMembersAsync(IGrainFactory grains, string? tenant = null)
    {
        tenant ??= NewTenantId();
        await grains.GetTenant(tenant).CreateAsync("Tenant " + tenant);
        foreach (var pod in new[] { "p1", "p2", "p3" })
            await grains.GetPod(new EntityKey(tenant, pod)).RegisterAsync("Pod " + pod);
        await grains.GetModeller(new EntityKey(tenant, "m1")).RegisterAsync("Modeller");
        return tenant;
    }

    public static CreateSession AggregationSession() => new("m1", SessionKind.SecureAggregation, ["p1", "p2", "p3"]);
}
