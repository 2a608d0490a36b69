using Smpc.TestSupport;

namespace Smpc.Integration.Tests;

/// <summary>The embedded service as an operator finds it: owner-only data files, and logs that stay quiet under traffic.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class OperatorBasicsTests : IDisposable
{
    private readonly string _parent = Path.Combine(Path.GetTempPath(), "smpc-ops-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task TheDataDirectoryIsOwnerOnly_AndRequestsLogNothingAtTheDefaultLevels()
    {
        var data = Path.Combine(_parent, "data");
        Directory.CreateDirectory(_parent);
        // ASP.NET's own default (Information everywhere), not the quieter levels other process tests use.
        var defaults = new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Information", ["Logging__LogLevel__Smpc"] = "Information" };
        await using var silo = await Services.StartEmbeddedAsync(data, defaults);
        var client = Services.OperatorFor(silo);
        var modeller = client.WithKey(await Services.SeedAsync(client, "acme"));
        await modeller.UploadPayloadAsync("acme", "s1", "input", new MemoryStream(new byte[1000]));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
        foreach (var file in new[] { "smpc.db", "smpc.db-wal", "smpc.db-shm" })
        {
            var path = Path.Combine(data, file);
            Assert.True(File.Exists(path), file);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        // 100 more requests, good and bad: not one more line in the log.
        var lines = silo.Output.Split('\n').Length;
        using var http = new HttpClient { BaseAddress = silo.BaseAddress };
        for (var i = 0; i < 50; i++)
        {
            (await http.GetAsync("health/ready")).Dispose();
            (await http.GetAsync("v1/me")).Dispose();
            await modeller.WhoAmIAsync();
        }

        Assert.True(silo.Output.Split('\n').Length == lines, "requests were logged at the default levels:\n" + string.Join('\n', silo.Output.Split('\n').Skip(lines).Take(20)));
        Assert.True(lines < 80, $"start-up wrote {lines} lines at the default levels:\n{silo.Output}");
    }

    public void Dispose()
    {
        try { Directory.Delete(_parent, recursive: true); } catch (IOException) { }
    }
}
