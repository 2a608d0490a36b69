using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Tenancy;

namespace Smpc.Grains.Tests;

/// <summary>Real storage failures injected into the real SQLite database with triggers that abort writes.</summary>
public sealed class StorageFailureTests : IAsyncLifetime
{
    private readonly TwoSiloCluster _cluster = new();

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task FailedWrite_SurfacesAsStorageUnavailable_AndTheGrainDropsTheUnsavedChange()
    {
        var grains = _cluster.Grains;
        var tenant = await Seed.TenantWithMembersAsync(grains);
        var tenantGrain = grains.GetTenant(tenant);

        await BreakWritesAsync();
        var error = await Assert.ThrowsAsync<SmpcException>(() => tenantGrain.AddMemberAsync(MemberKind.Pod, "p9"));
        Assert.Equal(SmpcErrorCode.StorageUnavailable, error.Code);
        Assert.Contains("injected", error.Message, StringComparison.Ordinal);

        // Same activation, reads still work: the failed change must not be visible.
        Assert.Equal(["p1", "p2", "p3"], await tenantGrain.ListMembersAsync(Seed.Admin(tenant), MemberKind.Pod));

        await RepairWritesAsync();
        await tenantGrain.AddMemberAsync(MemberKind.Pod, "p9");
        Assert.Equal(["p1", "p2", "p3", "p9"], await tenantGrain.ListMembersAsync(Seed.Admin(tenant), MemberKind.Pod));
    }

    [Fact]
    public async Task FailedFirstWrite_LeavesTheRecordAbsent()
    {
        var grains = _cluster.Grains;
        var id = Seed.NewTenantId();
        var tenant = grains.GetTenant(id);

        await BreakWritesAsync();
        var error = await Assert.ThrowsAsync<SmpcException>(() => Seed.CreateTenantAsync(grains, id, "New"));

        Assert.Equal(SmpcErrorCode.StorageUnavailable, error.Code);
        Assert.False(await tenant.ExistsAsync());
        await RepairWritesAsync();
        await Seed.CreateTenantAsync(grains, id, "Other");
        Assert.Equal("Other", (await tenant.GetAsync(Caller.Operator)).DisplayName);
    }

    [Fact]
    public async Task FailedChunkWrite_IsStorageUnavailable_AndTheUploadCanContinue()
    {
        var grains = _cluster.Grains;
        var tenant = await Seed.TenantWithMembersAsync(grains);
        var payload = grains.GetPayload(new Interfaces.Payloads.PayloadKey(new EntityKey(tenant, "s1"), "input"));
        var upload = await payload.BeginAsync();

        await _cluster.Storage.ExecuteAsync("CREATE TRIGGER fail_chunks BEFORE INSERT ON smpc_payload_chunk BEGIN SELECT RAISE(ABORT, 'injected'); END;");
        var error = await Assert.ThrowsAsync<SmpcException>(() => payload.WriteChunkAsync(upload, 0, [1, 2, 3]));
        Assert.Equal(SmpcErrorCode.StorageUnavailable, error.Code);

        await _cluster.Storage.ExecuteAsync("DROP TRIGGER fail_chunks;");
        await payload.WriteChunkAsync(upload, 0, [1, 2, 3]);
        var manifest = await payload.CompleteAsync(upload, 3, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(new byte[] { 1, 2, 3 })));
        Assert.Equal(3, manifest.Length);
    }

    private Task BreakWritesAsync() => _cluster.Storage.ExecuteAsync("""
        CREATE TRIGGER fail_insert BEFORE INSERT ON OrleansStorage BEGIN SELECT RAISE(ABORT, 'injected'); END;
        CREATE TRIGGER fail_update BEFORE UPDATE ON OrleansStorage BEGIN SELECT RAISE(ABORT, 'injected'); END;
        """);

    private Task RepairWritesAsync() => _cluster.Storage.ExecuteAsync("DROP TRIGGER fail_insert; DROP TRIGGER fail_update;");
}
