using System.Net;
using System.Net.Http.Headers;
using Smpc.Client;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests.Hardening;

/// <summary>Security headers, CORS off by default, and the per-credential rate limit, through the real gateway.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class SecurityHeadersAndRateLimitTests(EmbeddedService service)
{
    [Theory]
    [InlineData("/health/live", HttpStatusCode.OK)]
    [InlineData("/v1/me", HttpStatusCode.Unauthorized)]
    [InlineData("/v1/no-such-route", HttpStatusCode.NotFound)]
    public async Task EveryResponse_CarriesTheSecurityHeaders(string path, HttpStatusCode status)
    {
        using var response = await service.Http.GetAsync(path);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.True(response.Headers.CacheControl?.NoStore, "responses (keys are shown once) must not be cached");
    }

    [Fact]
    public async Task WithoutConfiguredOrigins_ABrowserPreflightGetsNoCorsGrant()
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/me");
        preflight.Headers.Add("Origin", "https://evil.example");
        preflight.Headers.Add("Access-Control-Request-Method", "GET");
        using var response = await service.Http.SendAsync(preflight);

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task ACredentialOverItsTenantsRate_Gets429WithRetryAfter_WhileOtherTenantsAreUnaffected()
    {
        var limited = await Scenario.TenantAsync(service);
        var other = await Scenario.TenantAsync(service);
        await ExpectAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => limited.Admin.SetTenantLimitsAsync(limited.Tenant, new TenantLimitsRequest(0.2, 3)));
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => service.Operator.SetTenantLimitsAsync(limited.Tenant, new TenantLimitsRequest(0, 3)));
        Assert.Equal(new TenantLimitsRequest(0.2, 3), await service.Operator.SetTenantLimitsAsync(limited.Tenant, new TenantLimitsRequest(0.2, 3)));
        service.Clock.Advance(TimeSpan.FromSeconds(10));

        // A burst of 3, then one request every 5 s: the 4th quick request is refused.
        for (var i = 0; i < 3; i++) await limited.Modeller.WhoAmIAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/me");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", limited.ModellerKey.ApiKey);
        using var refused = await service.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "429 says when to retry");
        Assert.Contains(ProblemTypes.TooManyRequests, await refused.Content.ReadAsStringAsync());

        // Another credential of the same tenant has its own bucket; another tenant keeps the defaults.
        await limited.Pods["p1"].WhoAmIAsync();
        for (var i = 0; i < 10; i++) await other.Modeller.WhoAmIAsync();
    }

    private static async Task ExpectAsync(HttpStatusCode status, string type, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<SmpcApiException>(call);
        Assert.Equal((status, type), (error.Status, error.Type));
    }
}
