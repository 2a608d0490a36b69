using System.Net;
using System.Security.Cryptography;
using Smpc.Client;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests;

/// <summary>Credentials, roles and tenancy through the real gateway: foreign resources are 404, wrong roles 403, bad keys 401.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class AccessControlTests(EmbeddedService service)
{
    private static async Task ExpectAsync(HttpStatusCode status, string type, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<SmpcApiException>(call);
        Assert.Equal((status, type), (error.Status, error.Type));
    }

    private static Task NotFoundAsync(Func<Task> call) => ExpectAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, call);

    private static Task ForbiddenAsync(Func<Task> call) => ExpectAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, call);

    private static Task UnauthenticatedAsync(Func<Task> call) => ExpectAsync(HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated, call);

    [Fact]
    public async Task WhoAmI_NamesEachRole()
    {
        var t = await Scenario.TenantAsync(service);

        Assert.Equal(("Operator", null, null), await WhoAsync(service.Operator));
        Assert.Equal(("TenantAdmin", t.Tenant, null), await WhoAsync(t.Admin));
        Assert.Equal(("Pod", t.Tenant, "p2"), await WhoAsync(t.Pods["p2"]));
        Assert.Equal(("Modeller", t.Tenant, "m1"), await WhoAsync(t.Modeller));

        static async Task<(string, string?, string?)> WhoAsync(SmpcClient c)
        {
            var me = await c.WhoAmIAsync();
            return (me.Role, me.Tenant, me.Subject);
        }
    }

    [Theory]
    [InlineData("smpc_0123456789abcdef_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")] // well-formed, unknown
    [InlineData("smpc_op_not-the-operator-key")]
    [InlineData("garbage")]
    public async Task ForgedKeys_AreUnauthenticated(string key) =>
        await UnauthenticatedAsync(() => service.Anonymous.WithKey(key).WhoAmIAsync());

    [Fact]
    public async Task AKeyWithOneWrongCharacter_IsUnauthenticated()
    {
        var t = await Scenario.TenantAsync(service);
        var key = t.ModellerKey.ApiKey;
        var tampered = key[..^1] + (key[^1] == 'A' ? 'B' : 'A');
        await UnauthenticatedAsync(() => service.Anonymous.WithKey(tampered).WhoAmIAsync());
    }

    [Fact]
    public async Task RevokedKey_StopsWorkingAtOnce_WhileANewlyIssuedOneWorks()
    {
        var t = await Scenario.TenantAsync(service);
        Assert.Equal("Modeller", (await t.Modeller.WhoAmIAsync()).Role);

        var revoked = await t.Admin.RevokeKeyAsync(t.Tenant, t.ModellerKey.KeyId);

        Assert.NotNull(revoked.RevokedAt);
        await UnauthenticatedAsync(() => t.Modeller.WhoAmIAsync());
        var rotated = await t.Admin.IssuePodKeyAsync(t.Tenant, "p1");
        Assert.Equal("p1", (await service.Anonymous.WithKey(rotated.ApiKey).WhoAmIAsync()).Subject);
    }

    [Fact]
    public async Task Rotation_TheOldKeyWorksThroughTheOverlap_ThenStops_AndAnEarlierRevocationWins()
    {
        var t = await Scenario.TenantAsync(service);
        var fresh = await t.Admin.IssuePodKeyAsync(t.Tenant, "p1");
        var old = await t.Admin.IssuePodKeyAsync(t.Tenant, "p1");
        var oldClient = service.Anonymous.WithKey(old.ApiKey);

        var scheduled = await t.Admin.RevokeKeyAsync(t.Tenant, old.KeyId, after: TimeSpan.FromHours(1));
        Assert.Equal(service.Clock.GetUtcNow() + TimeSpan.FromHours(1), scheduled.RevokedAt);
        Assert.Equal("p1", (await oldClient.WhoAmIAsync()).Subject); // inside the overlap both keys work
        Assert.Equal(scheduled.RevokedAt, (await t.Admin.RevokeKeyAsync(t.Tenant, old.KeyId, after: TimeSpan.FromHours(5))).RevokedAt); // later never wins
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => t.Admin.RevokeKeyAsync(t.Tenant, old.KeyId, after: TimeSpan.FromDays(31)));

        service.Clock.Advance(TimeSpan.FromHours(1));
        await UnauthenticatedAsync(() => oldClient.WhoAmIAsync());
        Assert.Equal("p1", (await service.Anonymous.WithKey(fresh.ApiKey).WhoAmIAsync()).Subject);

        // Scheduling, then revoking at once, ends the overlap early.
        var another = await t.Admin.IssuePodKeyAsync(t.Tenant, "p2");
        await t.Admin.RevokeKeyAsync(t.Tenant, another.KeyId, after: TimeSpan.FromDays(7));
        await t.Admin.RevokeKeyAsync(t.Tenant, another.KeyId);
        await UnauthenticatedAsync(() => service.Anonymous.WithKey(another.ApiKey).WhoAmIAsync());
    }

    [Fact]
    public async Task ApiKeys_NeverReachTheLogs()
    {
        var t = await Scenario.TenantAsync(service);
        await t.Modeller.WhoAmIAsync();
        await UnauthenticatedAsync(() => service.Anonymous.WithKey(t.ModellerKey.ApiKey[..^2] + "zz").WhoAmIAsync());
        var secret = t.ModellerKey.ApiKey.Split('_')[^1];
        Assert.DoesNotContain(service.Logs.Lines, line => line.Contains(secret, StringComparison.Ordinal) || line.Contains(service.OperatorKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task OnlyTheOperatorCreatesTenants()
    {
        var t = await Scenario.TenantAsync(service);
        var request = new CreateTenantRequest("t-" + Guid.NewGuid().ToString("N")[..10], "X");

        await ForbiddenAsync(() => t.Admin.CreateTenantAsync(request));
        await ForbiddenAsync(() => t.Modeller.CreateTenantAsync(request));
        await UnauthenticatedAsync(() => service.Anonymous.CreateTenantAsync(request));
        await NotFoundAsync(() => service.Operator.GetTenantAsync(request.Id));
    }

    [Fact]
    public async Task OnlyTheTenantAdminRegistersMembers()
    {
        var t = await Scenario.TenantAsync(service);
        var pod = new RegisterPodRequest("p9", "P9", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));

        await ForbiddenAsync(() => t.Modeller.RegisterPodAsync(t.Tenant, pod));
        await ForbiddenAsync(() => t.Pods["p1"].RegisterModellerAsync(t.Tenant, new RegisterModellerRequest("m9", "M9")));
        await NotFoundAsync(() => service.Operator.RegisterPodAsync(t.Tenant, pod));
        await NotFoundAsync(() => t.Admin.GetPodAsync(t.Tenant, "p9"));
    }

    [Fact]
    public async Task NothingOfOneTenant_IsVisibleToAnother()
    {
        var a = await Scenario.TenantWithSessionAsync(service);
        var b = await Scenario.TenantWithSessionAsync(service);

        foreach (var intruder in new[] { b.Admin, b.Modeller, b.Pods["p1"] })
        {
            await NotFoundAsync(() => intruder.GetTenantAsync(a.Tenant));
            await NotFoundAsync(() => intruder.GetPodAsync(a.Tenant, "p1"));
            await NotFoundAsync(() => intruder.GetModellerAsync(a.Tenant, "m1"));
            await NotFoundAsync(() => intruder.GetSessionAsync(a.Tenant, "s1"));
            await NotFoundAsync(() => intruder.GetPayloadManifestAsync(a.Tenant, "s1", "input"));
            await NotFoundAsync(() => intruder.UploadPayloadAsync(a.Tenant, "s1", "input", new MemoryStream([1])));
            await NotFoundAsync(() => intruder.RevokeKeyAsync(a.Tenant, a.ModellerKey.KeyId));
        }

        await NotFoundAsync(() => b.Admin.IssuePodKeyAsync(a.Tenant, "p1"));
        await NotFoundAsync(() => b.Modeller.CreateSessionAsync(a.Tenant, new CreateSessionRequest("s2", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation())));
        Assert.Equal("Modeller", (await a.Modeller.WhoAmIAsync()).Role); // a's key still works
    }

    [Fact]
    public async Task AModeller_SeesOnlyItsOwnSessions_AndAPodOnlyThoseItIsIn()
    {
        var t = await Scenario.TenantAsync(service, ["p1", "p2", "p3", "p4"]);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        var other = await t.Admin.RegisterModellerAsync(t.Tenant, new RegisterModellerRequest("m2", "Other"));
        var m2 = service.Anonymous.WithKey(other.ApiKey!.ApiKey);

        await NotFoundAsync(() => m2.GetSessionAsync(t.Tenant, "s1"));
        await NotFoundAsync(() => t.Pods["p4"].GetSessionAsync(t.Tenant, "s1"));
        await ForbiddenAsync(() => m2.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s2", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation())));
        await ForbiddenAsync(() => t.Pods["p1"].CreateSessionAsync(t.Tenant, new CreateSessionRequest("s3", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation())));
        Assert.Equal("s1", (await t.Pods["p3"].GetSessionAsync(t.Tenant, "s1")).Id);
        Assert.Equal("s1", (await t.Admin.GetSessionAsync(t.Tenant, "s1")).Id);
    }

    [Fact]
    public async Task RegisteringAgain_ReturnsNoSecondKey()
    {
        var t = await Scenario.TenantAsync(service);
        var identity = (await t.Admin.GetPodAsync(t.Tenant, "p1")).IdentityPublicKey!;

        var again = await t.Admin.RegisterPodAsync(t.Tenant, new RegisterPodRequest("p1", "Pod p1", identity));
        var conflict = await Assert.ThrowsAsync<SmpcApiException>(() =>
            t.Admin.RegisterPodAsync(t.Tenant, new RegisterPodRequest("p1", "Pod p1", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)))));

        Assert.Null(again.ApiKey);
        Assert.Equal(HttpStatusCode.Conflict, conflict.Status);
    }
}
