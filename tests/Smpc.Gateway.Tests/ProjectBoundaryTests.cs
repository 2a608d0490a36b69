using System.Reflection;

namespace Smpc.Gateway.Tests;

/// <summary>
/// The service ships neither the pod agent nor the client SDK, Contracts stays BCL-only and Protocols stays free of hosts
/// and databases (docs/architecture.md, project references): checked on the built assemblies' references.
/// </summary>
public sealed class ProjectBoundaryTests
{
    [Theory]
    [InlineData("Smpc.ApiGateway")]
    [InlineData("Smpc.Silo")]
    [InlineData("Smpc.Grains")]
    public void TheService_DoesNotReferenceTheClientOrTheAgent(string service)
    {
        var references = References(service);

        Assert.Contains(references, r => r.StartsWith("Smpc.", StringComparison.Ordinal)); // positive control: project references are seen
        Assert.DoesNotContain("Smpc.Client", references);
        Assert.DoesNotContain("Smpc.Agent", references);
        Assert.DoesNotContain("Smpc.Samples", references);
    }

    [Fact]
    public void Contracts_ReferencesOnlyTheBaseClassLibrary()
    {
        var references = References("Smpc.Contracts");

        Assert.NotEmpty(references);
        Assert.All(references, r => Assert.True(r.StartsWith("System", StringComparison.Ordinal) || r is "netstandard" or "mscorlib", r));
    }

    [Fact]
    public void Protocols_ReferencesNoHostNoDatabaseAndNoSdk()
    {
        var references = References("Smpc.Protocols");

        Assert.Contains("Smpc.Contracts", references);
        Assert.DoesNotContain(references, r => r.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) || r.StartsWith("Orleans", StringComparison.Ordinal)
            || r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || r is "Npgsql" or "Microsoft.Data.Sqlite"
            || r.StartsWith("Smpc.", StringComparison.Ordinal) && r != "Smpc.Contracts");
    }

    private static List<string> References(string assembly) =>
        [.. Assembly.Load(assembly).GetReferencedAssemblies().Select(a => a.Name!)];
}
