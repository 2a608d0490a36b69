using System.Globalization;
using System.Xml.Linq;

namespace Smpc.Gateway.Tests.Deployment;

/// <summary>The container image a project publishes with <c>dotnet publish -t:PublishContainer</c>, read from its csproj.</summary>
internal sealed record ContainerImage(
    string ProjectFile,
    string Repository,
    IReadOnlyList<int> Ports,
    IReadOnlyDictionary<string, string> Environment,
    string? User,
    string? AppCommandInstruction)
{
    /// <summary>The image of <c>Silo/Smpc.Silo.csproj</c>.</summary>
    public static ContainerImage Silo(string root) => Read(root, "Silo/Smpc.Silo.csproj");

    /// <summary>The image of <c>ApiGateway/Smpc.ApiGateway.csproj</c>.</summary>
    public static ContainerImage Gateway(string root) => Read(root, "ApiGateway/Smpc.ApiGateway.csproj");

    /// <summary>Reads the Container* properties and items of a project file.</summary>
    public static ContainerImage Read(string root, string projectFile)
    {
        var project = XDocument.Load(Path.Combine(root, projectFile));
        string? Property(string name) => project.Descendants(name).Select(e => e.Value.Trim()).LastOrDefault(v => v.Length > 0);

        var repository = Property("ContainerRepository")
                         ?? throw new InvalidDataException($"{projectFile} sets no ContainerRepository.");
        var ports = project.Descendants("ContainerPort")
            .Select(e => int.Parse((string?)e.Attribute("Include") ?? "", CultureInfo.InvariantCulture))
            .ToList();
        var environment = project.Descendants("ContainerEnvironmentVariable")
            .ToDictionary(e => (string?)e.Attribute("Include") ?? "", e => (string?)e.Attribute("Value") ?? "", StringComparer.Ordinal);
        return new ContainerImage(projectFile, repository, ports, environment, Property("ContainerUser"), Property("ContainerAppCommandInstruction"));
    }
}
