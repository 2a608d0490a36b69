using System.Net;
using System.Text.Json;
using Smpc.Contracts;
using Smpc.Gateway.Tests;

namespace Smpc.Console.Tests;

/// <summary>A service whose console files are missing (npm was absent at build time): /console says how to build it.</summary>
public sealed class UnbuiltConsoleService : EmbeddedService
{
    /// <summary>An empty directory stands for a build without npm.</summary>
    public string EmptyDirectory { get; } = Directory.CreateTempSubdirectory("smpc-console-unbuilt-").FullName;

    protected override IEnumerable<string> Settings => [.. base.Settings, $"--Smpc:Console:Path={EmptyDirectory}"];

    protected override Task ReleaseDataDirectoryAsync(string directory)
    {
        Directory.Delete(EmptyDirectory, recursive: true);
        return Task.CompletedTask;
    }
}

public sealed class UnbuiltConsoleTests(UnbuiltConsoleService service) : IClassFixture<UnbuiltConsoleService>
{
    [Theory]
    [InlineData("console")]
    [InlineData("console/")]
    [InlineData("console/sessions")]
    public async Task Console_WhenNotBuilt_AnswersA404ProblemSayingHowToBuildIt(string path)
    {
        using var response = await service.Http.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(ProblemTypes.RouteNotFound, problem.RootElement.GetProperty("type").GetString());
        var detail = problem.RootElement.GetProperty("detail").GetString()!;
        Assert.Contains("not built", detail, StringComparison.Ordinal);
        Assert.Contains("npm run build", detail, StringComparison.Ordinal);
        Assert.Contains(service.EmptyDirectory, detail, StringComparison.Ordinal);
    }
}
