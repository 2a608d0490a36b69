using Smpc.Grains.Interfaces.Access;
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

        var first = await session.CreateAsync(Seed.Modeller(tenant), Seed.AggregationSession());
        var second = await session.CreateAsync(Seed.Modeller(tenant), Seed.AggregationSession());

        Assert.Equal(first.CreatedAt, second.CreatedAt);
        Assert.Equal(1, second.Version);
    }

    [Fact]
    public async Task Create_WithOtherParameters_IsAConflictAndChangesNothing()
    {
        var tenant = await Seed.TenantWithMembersAsync(_grains);
        var session = _grains.GetSession(new EntityKey(tenant, "s1"));
        var original = await session.CreateAsync(Seed.Modeller(tenant), Seed.AggregationSession());

        var error = await Assert.ThrowsAsync<SmpcException>(() => session.CreateAsync(Seed.Modeller(tenant), new CreateSession("m1", SessionKind.SecureAggregation, ["p3", "p2", "p1"], Seed.Spec())));

        Assert.Equal(SmpcErrorCode.Conflict, error.Code);
        Assert.Equal(original.PodIds, (await session.GetAsync(Seed.Modeller(tenant))).PodIds);
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

        var error = await Assert.ThrowsAsync<SmpcException>(() => session.CreateAsync(Seed.Modeller(tenant), new CreateSession("m1", SessionKind.SecureAggregation, pods, Seed.Spec())));

        Assert.Equal(SmpcErrorCode.Validation, error.Code);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Equal(SmpcErrorCode.NotFound, (await Assert.ThrowsAsync<SmpcException>(() => session.GetAsync(Seed.Modeller(tenant)))).Code);
    }

    [Fact]
    public async Task Create_PsiWithTwoPods_IsRejected()
    {
        var tenant = await Seed.TenantWithMembersAsync(_grains);
        var error = await Assert.ThrowsAsync<SmpcException>(() =>
            _grains.GetSession(new EntityKey(tenant, "s1")).CreateAsync(Seed.Modeller(tenant), new CreateSession("m1", SessionKind.PrivateSetIntersection, ["p1", "p2"])));
        Assert.Equal(SmpcErrorCode.Validation, error.Code);
    }

    [Fact]
    public async Task Create_WithPodsOfAnotherTenant_IsRejected()
    {
        var tenantA = await Seed.TenantWithMembersAsync(_grains);
        var tenantB = Seed.NewTenantId();
        await Seed.CreateTenantAsync(_grains, tenantB);
        await Seed.RegisterPodAsync(_grains, tenantB, "p1");
        var (_, keyId, hash) = ApiKey.Generate();
        await _grains.GetModeller(new EntityKey(tenantB, "m1")).RegisterAsync(Seed.Admin(tenantB), "Modeller", [], keyId, hash);

        // p2 and p3 exist in tenant A only.
        var error = await Assert.ThrowsAsync<SmpcException>(() => _grains.GetSession(new EntityKey(tenantB, "s1")).CreateAsync(Seed.Modeller(tenantB), Seed.AggregationSession()));

        Assert.Equal(SmpcErrorCode.Validation, error.Code);
        Assert.Contains("p2, p3", error.Message, StringComparison.Ordinal);
        _ = tenantA;
    }

    [Fact]
    public async Task Create_ByACallerOfAnotherTenant_IsNotFound_AndByAnotherModellerForbidden()
    {
        var tenant = await Seed.TenantWithMembersAsync(_grains);
        var session = _grains.GetSession(new EntityKey(tenant, "s1"));

        var foreign = await Assert.ThrowsAsync<SmpcException>(() => session.CreateAsync(Caller.Modeller("elsewhere", "m1"), Seed.AggregationSession()));
        var impostor = await Assert.ThrowsAsync<SmpcException>(() => session.CreateAsync(Caller.Modeller(tenant, "m2"), Seed.AggregationSession()));
        var pod = await Assert.ThrowsAsync<SmpcException>(() => session.CreateAsync(Caller.Pod(tenant, "m1"), Seed.AggregationSession()));

        Assert.Equal(SmpcErrorCode.NotFound, foreign.Code);
        Assert.Equal(SmpcErrorCode.Forbidden, impostor.Code);
        Assert.Equal(SmpcErrorCode.Forbidden, pod.Code);
        Assert.Equal(SmpcErrorCode.NotFound, (await Assert.ThrowsAsync<SmpcException>(() => session.GetAsync(Seed.Admin(tenant)))).Code);
    }

    [Fact]
    public async Task Get_IsVisibleToItsModellerPodsAndAdmin_Only()
    {
        var tenant = await Seed.TenantWithMembersAsync(_grains);
        await Seed.RegisterPodAsync(_grains, tenant, "p4");
        var session = _grains.GetSession(new EntityKey(tenant, "s1"));
        await session.CreateAsync(Seed.Modeller(tenant), Seed.AggregationSession());

        foreach (var caller in new[] { Seed.Modeller(tenant), Caller.Pod(tenant, "p2"), Seed.Admin(tenant) })
            Assert.Equal("s1", (await session.GetAsync(caller)).Id);
        foreach (var caller in new[] { Caller.Modeller(tenant, "m2"), Caller.Pod(tenant, "p4"), Caller.Pod("elsewhere", "p1"), Caller.Operator })
            Assert.Equal(SmpcErrorCode.NotFound, (await Assert.ThrowsAsync<SmpcException>(() => session.GetAsync(caller))).Code);
    }

    [Fact]
    public async Task RegisterPod_InMissingTenant_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<SmpcException>(() => Seed.RegisterPodAsync(_grains, Seed.NewTenantId(), "p1"));
        Assert.Equal(SmpcErrorCode.NotFound, error.Code);
    }

    [Fact]
    public async Task RegisterPod_ByAPodOrAnotherTenantsAdmin_IsRefused()
    {
        var tenant = await Seed.TenantWithMembersAsync(_grains);
        var pod = _grains.GetPod(new EntityKey(tenant, "p9"));
        var (_, keyId, hash) = ApiKey.Generate();

        var asPod = await Assert.ThrowsAsync<SmpcException>(() => pod.RegisterAsync(Caller.Pod(tenant, "p1"), "x", new byte[32], keyId, hash));
        var asForeignAdmin = await Assert.ThrowsAsync<SmpcException>(() => pod.RegisterAsync(Caller.Admin("elsewhere"), "x", new byte[32], keyId, hash));

        Assert.Equal(SmpcErrorCode.Forbidden, asPod.Code);
        Assert.Equal(SmpcErrorCode.NotFound, asForeignAdmin.Code);
        Assert.False(await pod.ExistsAsync());
    }

    [Fact]
    public async Task RegisterPod_WithoutA32ByteIdentityKey_IsInvalid()
    {
        var tenant = await Seed.TenantWithMembersAsync(_grains);
        var (_, keyId, hash) = ApiKey.Generate();
        var error = await Assert.ThrowsAsync<SmpcException>(() => _grains.GetPod(new EntityKey(tenant, "p9")).RegisterAsync(Seed.Admin(tenant), "x", new byte[31], keyId, hash));
        Assert.Equal(SmpcErrorCode.Validation, error.Code);
    }

    [Fact]
    public async Task RegisterPod_AddsItToTheTenantDirectory_AndItsKeyVerifies()
    {
        var tenant = await Seed.TenantWithMembersAsync(_grains);
        var (key, keyId, hash) = ApiKey.Generate();
        var registration = await _grains.GetPod(new EntityKey(tenant, "p4")).RegisterAsync(Seed.Admin(tenant), "Pod p4", new byte[32], keyId, hash);
        var again = await _grains.GetPod(new EntityKey(tenant, "p4")).RegisterAsync(Seed.Admin(tenant), "Pod p4", new byte[32], "0000000000000000", hash);

        Assert.True(registration.Created);
        Assert.False(again.Created);
        Assert.Equal(["p1", "p2", "p3", "p4"], await _grains.GetTenant(tenant).ListMembersAsync(Seed.Admin(tenant), Interfaces.Tenancy.MemberKind.Pod));
        Assert.True(ApiKey.TryParse(key, out var parsedId, out var secretHash));
        Assert.Equal(Caller.Pod(tenant, "p4", keyId), await _grains.GetGrain<ICredentialGrain>(parsedId).VerifyAsync(secretHash));
    }

    [Fact]
    public async Task APodWaitingForWork_IsWokenByANewSession_AndOnlyThePodItselfMayWait()
    {
        var tenant = await Seed.TenantWithMembersAsync(_grains);
        var pod = _grains.GetPod(new EntityKey(tenant, "p2"));

        var waiting = pod.WaitForNewSessionAsync(Caller.Pod(tenant, "p2"), "-", TimeSpan.FromSeconds(20));
        Assert.False(waiting.IsCompleted);
        await _grains.GetSession(new EntityKey(tenant, "s1")).CreateAsync(Seed.Modeller(tenant), Seed.AggregationSession());

        Assert.Equal(["s1"], await waiting); // woken by the session, not by the 20-s timeout (which would return no session)
        Assert.Equal(SmpcErrorCode.Forbidden, (await Assert.ThrowsAsync<SmpcException>(() => pod.WaitForNewSessionAsync(Caller.Pod(tenant, "p1"), "-", TimeSpan.Zero))).Code);
        Assert.Equal(SmpcErrorCode.NotFound, (await Assert.ThrowsAsync<SmpcException>(() => pod.WaitForNewSessionAsync(Caller.Pod("elsewhere", "p2"), "-", TimeSpan.Zero))).Code);
    }
}
