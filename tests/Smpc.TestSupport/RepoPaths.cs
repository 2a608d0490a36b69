namespace Smpc.TestSupport;

/// <summary>Locates the repository and the build outputs of the service's executables.</summary>
public static class RepoPaths
{
    /// <summary>The folder holding Smpc.Orleans.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release, whichever this test assembly was built in.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>Path of a project's built main assembly, e.g. <c>Assembly("Silo", "Smpc.Silo")</c>.</summary>
    public static string Assembly(string projectFolder, string assemblyName)
    {
        var path = Path.Combine(Root, projectFolder, "bin", Configuration, "net10.0", assemblyName + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built; run `dotnet build` (or `dotnet test` on the solution) first.", path);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Smpc.Orleans.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Smpc.Orleans.sln not found above " + AppContext.BaseDirectory);
    }
}
