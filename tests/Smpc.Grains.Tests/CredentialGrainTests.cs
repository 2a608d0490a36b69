using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Errors;

namespace Smpc.Grains.Tests;

public sealed class CredentialGrainTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>
{
    private readonly IGrainFactory _grains = cluster.Grains;

    private async Task<(string Key, ICredentialGrain Grain, string Tenant)> IssuedModellerKeyAsync()
    {
        var tenant = Seed.NewTenantId();
        var (key, keyId, hash) = ApiKey.Generate();
        var grain = _grains.GetGrain<ICredentialGrain>(keyId);
        await grain.IssueAsync(CallerRole.Modeller, tenant, "m1", hash);
        return (key, grain, tenant);
    }

    [Fact]
    public async Task Verify_WithTheRightSecret_ReturnsTheCaller_AndWithAnyOtherReturnsNull()
    {
        var (key, grain, tenant) = await IssuedModellerKeyAsync();
        ApiKey.TryParse(key, out _, out var hash);
        var wrong = (byte[])hash.Clone();
        wrong[^1] ^= 1;

        Assert.Equal(Caller.Modeller(tenant, "m1", grain.GetPrimaryKeyString()), await grain.VerifyAsync(hash));
        Assert.Null(await grain.VerifyAsync(wrong));
        Assert.Null(await grain.VerifyAsync([]));
        Assert.Null(await _grains.GetGrain<ICredentialGrain>("0123456789abcdef").VerifyAsync(hash));
    }

    [Fact]
    public async Task Revoke_ByTheTenantAdmin_StopsVerificationAtOnce_AndStoresNoSecret()
    {
        var (key, grain, tenant) = await IssuedModellerKeyAsync();
        ApiKey.TryParse(key, out _, out var hash);

        var revoked = await grain.RevokeAsync(Caller.Admin(tenant));

        Assert.NotNull(revoked.RevokedAt);
        Assert.Null(await grain.VerifyAsync(hash));
        var secret = Smpc.TestSupport.KeySecrets.Of(key);
        var stored = await cluster.Storage.ScalarAsync($"SELECT count(*) FROM OrleansStorage WHERE instr(CAST(PayloadBinary AS TEXT), '{secret}') > 0");
        Assert.Equal(0, stored);
    }

    [Fact]
    public async Task Revoke_ByTheSubjectItself_IsForbidden_AndByAnotherTenantNotFound()
    {
        var (_, grain, tenant) = await IssuedModellerKeyAsync();

        var self = await Assert.ThrowsAsync<SmpcException>(() => grain.RevokeAsync(Caller.Modeller(tenant, "m1")));
        var foreign = await Assert.ThrowsAsync<SmpcException>(() => grain.RevokeAsync(Caller.Admin("elsewhere")));

        Assert.Equal(SmpcErrorCode.Forbidden, self.Code);
        Assert.Equal(SmpcErrorCode.NotFound, foreign.Code);
        Assert.Null((await grain.GetAsync(Caller.Admin(tenant))).RevokedAt);
    }

    [Fact]
    public async Task Issue_ReusingAKeyIdWithAnotherSecret_IsAConflict()
    {
        var (_, grain, tenant) = await IssuedModellerKeyAsync();
        var (_, _, otherHash) = ApiKey.Generate();

        var error = await Assert.ThrowsAsync<SmpcException>(() => grain.IssueAsync(CallerRole.TenantAdmin, tenant, null, otherHash));

        Assert.Equal(SmpcErrorCode.Conflict, error.Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("smpc_0123456789abcdef")]
    [InlineData("smpc_0123456789ABCDEF_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("smpc_0123456789abcdef_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("bearer smpc_0123456789abcdef_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void TryParse_RejectsMalformedKeys(string presented) => Assert.False(ApiKey.TryParse(presented, out _, out _));
}
