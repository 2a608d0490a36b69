using System.Text.Json;
using System.Text.Json.Nodes;
using Smpc.TestSupport;

namespace Smpc.Gateway.Tests;

/// <summary>The OpenAPI document is generated from the endpoints and committed, so API changes show in review.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class OpenApiDocumentTests(EmbeddedService service)
{
    private static readonly string CommittedPath = Path.Combine(RepoPaths.Root, "ApiGateway", "openapi", "v1.json");

    [Fact]
    public async Task CommittedDocument_MatchesTheGeneratedOne()
    {
        var generated = Normalize(await service.Http.GetStringAsync("openapi/v1.json"));
        if (Environment.GetEnvironmentVariable("SMPC_UPDATE_OPENAPI") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(CommittedPath)!);
            await File.WriteAllTextAsync(CommittedPath, generated);
        }

        Assert.True(File.Exists(CommittedPath), $"{CommittedPath} is missing: run the tests once with SMPC_UPDATE_OPENAPI=1 and commit it.");
        Assert.True(generated == Normalize(await File.ReadAllTextAsync(CommittedPath)),
            "The API changed: run `SMPC_UPDATE_OPENAPI=1 dotnet test tests/Smpc.Gateway.Tests` and commit ApiGateway/openapi/v1.json.");
    }

    [Fact]
    public async Task Document_NamesEveryV1Operation_AndDeclaresProblemResponses()
    {
        var document = JsonNode.Parse(await service.Http.GetStringAsync("openapi/v1.json"))!;
        var operations = document["paths"]!.AsObject()
            .Where(p => p.Key.StartsWith("/v1/", StringComparison.Ordinal))
            .SelectMany(p => p.Value!.AsObject().Select(o => o.Value!))
            .ToList();

        Assert.NotEmpty(operations);
        Assert.All(operations, o => Assert.False(string.IsNullOrEmpty((string?)o["operationId"])));
        Assert.All(operations, o => Assert.False(string.IsNullOrEmpty((string?)o["summary"])));
        Assert.All(operations, o => Assert.Contains(o["responses"]!.AsObject(), r => r.Value!["content"]?["application/problem+json"] is not null));
    }

    private static string Normalize(string json) =>
        JsonNode.Parse(json)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true }).ReplaceLineEndings("\n") + "\n";
}
