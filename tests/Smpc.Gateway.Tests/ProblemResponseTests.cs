using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests;

[Collection(EmbeddedServiceCollection.Name)]
public sealed class ProblemResponseTests(EmbeddedService service)
{
    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? body = null, string? key = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = body };
        request.Headers.Authorization = new("Bearer", key ?? service.OperatorKey);
        return service.Http.SendAsync(request);
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(type, problem.GetProperty("type").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
        return problem;
    }

    [Fact]
    public async Task UnknownRoute_IsAProblem() =>
        await ProblemAsync(await SendAsync(HttpMethod.Get, "v1/no-such-thing"), HttpStatusCode.NotFound, ProblemTypes.RouteNotFound);

    [Fact]
    public async Task WrongMethod_IsAProblem() =>
        await ProblemAsync(await SendAsync(HttpMethod.Delete, "v1/tenants"), HttpStatusCode.MethodNotAllowed, ProblemTypes.MethodNotAllowed);

    [Fact]
    public async Task MalformedJson_IsAProblem()
    {
        using var body = new StringContent("{\"id\": \"acme\", ", Encoding.UTF8, "application/json");
        var problem = await ProblemAsync(await SendAsync(HttpMethod.Post, "v1/tenants", body), HttpStatusCode.BadRequest, ProblemTypes.MalformedRequest);
        Assert.Contains("JSON", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonOfTheWrongShape_IsAProblem()
    {
        using var body = new StringContent("[1,2,3]", Encoding.UTF8, "application/json");
        await ProblemAsync(await SendAsync(HttpMethod.Post, "v1/tenants", body), HttpStatusCode.BadRequest, ProblemTypes.MalformedRequest);
    }

    [Fact]
    public async Task OversizedJson_IsAProblem()
    {
        var name = new string('x', 10_000);
        using var body = new StringContent($"{{\"id\":\"big\",\"displayName\":\"{name}\"}}", Encoding.UTF8, "application/json");
        await ProblemAsync(await SendAsync(HttpMethod.Post, "v1/tenants", body), HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge);
    }

    [Fact]
    public async Task InvalidId_IsAValidationProblem_AndCreatesNothing()
    {
        var response = await SendAsync(HttpMethod.Post, "v1/tenants", JsonContent.Create(new CreateTenantRequest("Not Valid", "x")));
        await ProblemAsync(response, HttpStatusCode.BadRequest, ProblemTypes.Validation);
    }

    [Fact]
    public async Task MissingTenant_IsNotFound() =>
        await ProblemAsync(await SendAsync(HttpMethod.Get, "v1/tenants/nobody-here"), HttpStatusCode.NotFound, ProblemTypes.NotFound);

    [Fact]
    public async Task ConflictingTenant_IsAConflict_AndTheOriginalStays()
    {
        var id = "c-" + Guid.NewGuid().ToString("N")[..8];
        await service.Operator.CreateTenantAsync(new CreateTenantRequest(id, "First"));

        var response = await SendAsync(HttpMethod.Post, "v1/tenants", JsonContent.Create(new CreateTenantRequest(id, "Second")));

        await ProblemAsync(response, HttpStatusCode.Conflict, ProblemTypes.Conflict);
        Assert.Equal("First", (await service.Operator.GetTenantAsync(id)).DisplayName);
    }

    [Fact]
    public async Task PayloadWithWrongContentType_IsUnsupportedMediaType()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        using var body = new StringContent("[1,2,3]", Encoding.UTF8, "application/json");
        var response = await SendAsync(HttpMethod.Put, $"v1/tenants/{t.Tenant}/sessions/s1/payloads/input", body, t.ModellerKey.ApiKey);
        await ProblemAsync(response, HttpStatusCode.UnsupportedMediaType, ProblemTypes.UnsupportedMediaType);
    }

    [Fact]
    public async Task NoCredential_IsUnauthenticated_WithAChallenge()
    {
        var response = await service.Http.GetAsync("v1/me");
        await ProblemAsync(response, HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }
}
