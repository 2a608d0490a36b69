using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Tests;

public sealed class SessionGrainTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>
{
    private readonly IGrainFactory _grains = cluster.Grains;

    [Fact]
    public async Task Create_SameCommandTwice_IsIdempotent()
    {
        var tenant = await Seed.TenantWithMembersAsync(_grains);
        var session = _grains.GetSession(new EntityKey(tenant, "s1"));

        var first = await session.CreateAsync(Seed.AggregationSession());
        var second = await session.CreateAsync(Seed.AggregationSession());

        Assert.Equal(first.CreatedAt, second.CreatedAt);
        Assert.Equal(1, second.Version);
    }

    [Fact]
    public async Task Create_WithOtherParameters_IsAConflictAndChangesNothing()
    {
        var tenant = await Seed.TenantWithMembersAsync(_grains);
        var session = _grains.GetSession(new EntityKey(tenant, "s1"));
        var original = await session.CreateAsync(Seed.AggregationSession());

        var error = await Assert.ThrowsAsync<SmpcException>(() => session.CreateAsync(new CreateSession("m1", SessionKind.SecureAggregation, ["p3", "p2", "p1"])));

        Assert.Equal(SmpcErrorCode.Conflict, error.Code);
        Assert.Equal(original.PodIds, (await session.GetAsync()).PodIds);
    }

    [Theory]
    [InlineData(new[] { "p1", "p2" }, "3 to")]
    [InlineData(new[] { "p1", "p2", "p9" }, "p9")]
    [InlineData(new[] { "p1", "p1", "p2" }, "duplicates")]
    [InlineData(new[] { "p1", "P2", "p3" }, "invalid id")]
    public async Task Create_WithBadPods_IsRejectedAndNothingIsStored(string[] pods, string reason)
    {
        var tenant = await Seed.TenantWithMembersAsync(_grains);
        var session = _grains.GetSession(new EntityKey(tenant, "s1"));

        var error = await Assert.ThrowsAsync<SmpcException>(() => session.CreateAsync(new CreateSession("m1", SessionKind.SecureAggregation, pods)));

        Assert.Equal(SmpcErrorCode.Validation, error.Code);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Equal(SmpcErrorCode.NotFound, (await Assert.ThrowsAsync<SmpcException>(() => session.GetAsync())).Code);
    }

    [Fact]
    public async Task Create_PsiWithTwoPods_IsRejected()
    {
        var tenant = await Seed.TenantWithMembersAsync(_grains);
        var error = await Assert.ThrowsAsync<SmpcException>(() =>
            _grains.GetSession(new EntityKey(tenant, "s1")).CreateAsync(new CreateSession("m1", SessionKind.PrivateSetIntersection, ["p1", "p2"])));
        Assert.Equal(SmpcErrorCode.Validation, error.Code);
    }

    [Fact]
    public async Task Create_ForModellerOfAnotherTenant_IsRejected()
    {
        var tenantA = await Seed.TenantWithMembersAsync(_grains);
        var tenantB = Seed.NewTenantId();
        await _grains.GetTenant(tenantB).CreateAsync("B");
        foreach (var pod in new[] { "p1", "p2", "p3" }) await _grains.GetPod(new EntityKey(tenantB, pod)).RegisterAsync(pod);

        // m1 exists in tenant A only.
        var error = await Assert.ThrowsAsync<SmpcException>(() => _grains.GetSession(new EntityKey(tenantB, "s1")).CreateAsync(Seed.AggregationSession()));

        Assert.Equal(SmpcErrorCode.Validation, error.Code);
        Assert.Contains(tenantB, error.Message, StringComparison.Ordinal);
        _ = tenantA;
    }

    [Fact]
    public async Task RegisterPod_InMissingTenant_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<SmpcException>(() => _grains.GetPod(new EntityKey(Seed.NewTenantId(), "p1")).RegisterAsync("x"));
        Assert.Equal(SmpcErrorCode.NotFound, error.Code);
    }

    [Fact]
    public async Task RegisterPod_AddsItToTheTenantDirectory_Once()
    {
        var tenant = await Seed.TenantWithMembersAsync(_grains);
        await _grains.GetPod(new EntityKey(tenant, "p1")).RegisterAsync("Pod p1");

        var pods = await _grains.GetTenant(tenant).ListMembersAsync(Interfaces.Tenancy.MemberKind.Pod);

        Assert.Equal(["p1", "p2", "p3"], pods);
    }
}
