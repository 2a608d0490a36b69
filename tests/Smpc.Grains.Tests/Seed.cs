using System.Security.Cryptography;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Tests;

/// <summary>Creates a tenant with three pods and a modeller, the smallest cast a session needs, as their real callers would.</summary>
internal static class Seed
{
    public static string NewTenantId() => "t-" + Guid.NewGuid().ToString("N")[..10];

    public static Caller Admin(string tenant) => Caller.Admin(tenant);

    public static Caller Modeller(string tenant) => Caller.Modeller(tenant, "m1");

    public static async Task CreateTenantAsync(IGrainFactory grains, string tenant, string name = "Tenant")
    {
        var (_, keyId, hash) = ApiKey.Generate();
        await grains.GetTenant(tenant).CreateAsync(Caller.Operator, name, keyId, hash);
    }

    public static Task RegisterPodAsync(IGrainFactory grains, string tenant, string pod)
    {
        var (_, keyId, hash) = ApiKey.Generate();
        return grains.GetPod(new EntityKey(tenant, pod)).RegisterAsync(Admin(tenant), "Pod " + pod, RandomNumberGenerator.GetBytes(32), keyId, hash);
    }

    public static async Task<string> TenantWithMembersAsync(IGrainFactory grains, string? tenant = null)
    {
        tenant ??= NewTenantId();
        await CreateTenantAsync(grains, tenant);
        foreach (var pod in new[] { "p1", "p2", "p3" }) await RegisterPodAsync(grains, tenant, pod);
        var (_, keyId, hash) = ApiKey.Generate();
        await grains.GetModeller(new EntityKey(tenant, "m1")).RegisterAsync(Admin(tenant), "Modeller", [], keyId, hash);
        return tenant;
    }

    /// <summary>A federated query spec the create rules accept (one count per ward), as the gateway maps it from a REST request.</summary>
    public static FederatedQuerySpec QuerySpec() => new(
        "SELECT ward, COUNT(*) AS n FROM admissions GROUP BY ward", "hospital", [new FederatedGroupBy("ward", ["a", "b"], null, null)],
        [new FederatedAggregate("n", "count", 0, 0, null, null)], 5, 1000, 60);

    public static AggregationSpec Spec() =>
        new([new AggregationField("x", 4, 10_000_000_000, -100, 100)], AggregationOperation.Mean, null, new byte[32], TimeSpan.FromMinutes(5), "x", null);

    public static CreateSession AggregationSession() => new("m1", SessionKind.SecureAggregation, ["p1", "p2", "p3"], Spec());
}
