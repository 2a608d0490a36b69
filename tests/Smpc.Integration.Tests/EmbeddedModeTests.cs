using System.Diagnostics;
using System.Security.Cryptography;
using Smpc.TestSupport;
using Xunit.Abstractions;

namespace Smpc.Integration.Tests;

public sealed class EmbeddedModeTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "smpc-it-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task StateWrittenThroughRest_SurvivesKill9AndRestart()
    {
        var payload = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 7);
        string modellerKey;

        var started = Stopwatch.StartNew();
        await using (var first = await Services.StartEmbeddedAsync(_data))
        {
            output.WriteLine($"embedded silo ready after {started.ElapsedMilliseconds} ms (cold process start)");
            var client = Services.OperatorFor(first);
            modellerKey = await Services.SeedAsync(client, "acme");
            await client.WithKey(modellerKey).UploadPayloadAsync("acme", "s1", "input", new MemoryStream(payload));
            await first.KillAsync(); // SIGKILL right after the last 2xx
        }

        await using var second = await Services.StartEmbeddedAsync(_data);
        var again = Services.OperatorFor(second).WithKey(modellerKey);
        await Services.AssertSeededAsync(again, "acme");
        using var downloaded = new MemoryStream();
        await again.DownloadPayloadAsync("acme", "s1", "input", downloaded);
        Assert.Equal(payload, downloaded.ToArray());
    }

    public void Dispose()
    {
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }
}
