using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Smpc.Client;
using Smpc.Client.Contracts;

namespace Smpc.Gateway.Tests;

[Collection(EmbeddedServiceCollection.Name)]
public sealed class ProblemResponseTests(EmbeddedService service)
{
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
        await ProblemAsync(await service.Http.GetAsync("v1/no-such-thing"), HttpStatusCode.NotFound, ProblemTypes.RouteNotFound);

    [Fact]
    public async Task WrongMethod_IsAProblem() =>
        await ProblemAsync(await service.Http.DeleteAsync("v1/tenants"), HttpStatusCode.MethodNotAllowed, ProblemTypes.MethodNotAllowed);

    [Fact]
    public async Task MalformedJson_IsAProblem()
    {
        using var body = new StringContent("{\"id\": \"acme\", ", Encoding.UTF8, "application/json");
        var problem = await ProblemAsync(await service.Http.PostAsync("v1/tenants", body), HttpStatusCode.BadRequest, ProblemTypes.MalformedRequest);
        Assert.Contains("JSON", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonOfTheWrongShape_IsAProblem()
    {
        using var body = new StringContent("[1,2,3]", Encoding.UTF8, "application/json");
        await ProblemAsync(await service.Http.PostAsync("v1/tenants", body), HttpStatusCode.BadRequest, ProblemTypes.MalformedRequest);
    }

    [Fact]
    public async Task OversizedJson_IsAProblem()
    {
        var name = new string('x', 10_000);
        using var body = new StringContent($"{{\"id\":\"big\",\"displayName\":\"{name}\"}}", Encoding.UTF8, "application/json");
        await ProblemAsync(await service.Http.PostAsync("v1/tenants", body), HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge);
    }

    [Fact]
    public async Task InvalidId_IsAValidationProblem_AndCreatesNothing()
    {
        var response = await service.Http.PostAsJsonAsync("v1/tenants", new CreateTenantRequest("Not Valid", "x"));
        await ProblemAsync(response, HttpStatusCode.BadRequest, ProblemTypes.Validation);
    }

    [Fact]
    public async Task MissingTenant_IsNotFound() =>
        await ProblemAsync(await service.Http.GetAsync("v1/tenants/nobody-here"), HttpStatusCode.NotFound, ProblemTypes.NotFound);

    [Fact]
    public async Task ConflictingTenant_IsAConflict_AndTheOriginalStays()
    {
        var id = "c-" + Guid.NewGuid().ToString("N")[..8];
        await service.Client.CreateTenantAsync(new CreateTenantRequest(id, "First"));

        var response = await service.Http.PostAsJsonAsync("v1/tenants", new CreateTenantRequest(id, "Second"));

        await ProblemAsync(response, HttpStatusCode.Conflict, ProblemTypes.Conflict);
        Assert.Equal("First", (await service.Client.GetTenantAsync(id)).DisplayName);
    }

    [Fact]
    public async Task PayloadWithWrongContentType_IsUnsupportedMediaType()
    {
        var tenant = await Scenario.TenantWithSessionAsync(service.Client);
        using var body = new StringContent("[1,2,3]", Encoding.UTF8, "application/json");
        var response = await service.Http.PutAsync($"v1/tenants/{tenant}/sessions/s1/payloads/input", body);
        await ProblemAsync(response, HttpStatusCode.UnsupportedMediaType, ProblemTypes.UnsupportedMediaType);
    }

    [Fact]
    public async Task SessionOfAnotherTenant_IsNotFound()
    {
        var owner = await Scenario.TenantWithSessionAsync(service.Client);
        var other = await Scenario.TenantWithSessionAsync(service.Client, sessionId: "s2");

        var error = await Assert.ThrowsAsync<SmpcApiException>(() => service.Client.GetSessionAsync(other, "s1"));
        var payload = await service.Http.GetAsync($"v1/tenants/{other}/sessions/s1/payloads/input");

        Assert.Equal(HttpStatusCode.NotFound, error.Status);
        Assert.Equal(ProblemTypes.NotFound, error.Type);
        await ProblemAsync(payload, HttpStatusCode.NotFound, ProblemTypes.NotFound);
        Assert.Equal("s1", (await service.Client.GetSessionAsync(owner, "s1")).Id);
    }
}
