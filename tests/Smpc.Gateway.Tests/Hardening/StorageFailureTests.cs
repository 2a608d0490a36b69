using System.Diagnostics;
using System.Net;
using Microsoft.Data.Sqlite;
using Smpc.Contracts;
using Smpc.Gateway.Tests.Attacks;

namespace Smpc.Gateway.Tests.Hardening;

/// <summary>The embedded service with its data directory on a 48-MiB tmpfs the test can fill (needs root, as CI runs).</summary>
public sealed class SmallDiskService : EmbeddedService
{
    protected override async Task PrepareDataDirectoryAsync(string directory)
    {
        var (code, output) = await RunAsync("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", directory);
        if (code != 0) throw new InvalidOperationException($"This test mounts a size-limited tmpfs (as root); mount said: {output}");
    }

    protected override async Task ReleaseDataDirectoryAsync(string directory) => await RunAsync("umount", "-l", directory);

    private static async Task<(int, string)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = await process.StandardError.ReadToEndAsync() + await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }
}

[CollectionDefinition(Name)]
public sealed class SmallDiskServiceCollection : ICollectionFixture<SmallDiskService>
{
    public const string Name = "embedded service on a small disk";
}

/// <summary>
/// Readiness tells whether this node can write (finding 5): a full data volume or a database locked by someone else makes
/// it answer 503 storage-unavailable, and writes get that problem type too, not "the cluster is not reachable" after 30 s.
/// </summary>
[Collection(SmallDiskServiceCollection.Name)]
public sealed class StorageFailureTests(SmallDiskService service)
{
    [Fact]
    public async Task AFullDisk_MakesTheNodeNotReady_AndWritesFailAsStorageUnavailable_UntilSpaceIsBack()
    {
        Expect.Problem(HttpStatusCode.OK, null, await AttackHttp.SendAsync(service.Http, HttpMethod.Get, "health/ready", null), "ready before");
        var t = await Scenario.TenantWithSessionAsync(service);
        var filler = Path.Combine(service.DataDirectory, "filler.bin");
        try
        {
            await FillAsync(filler);

            var ready = await AttackHttp.SendAsync(service.Http, HttpMethod.Get, "health/ready", null);
            Expect.Problem(HttpStatusCode.ServiceUnavailable, ProblemTypes.StorageUnavailable, ready, "ready on a full disk");
            Assert.Contains("free on the data volume", ready.Detail, StringComparison.Ordinal);
            var upload = await AttackHttp.SendAsync(service.Http, HttpMethod.Put, $"v1/tenants/{t.Tenant}/sessions/s1/payloads/big", t.ModellerKey.ApiKey,
                AttackHttp.Bytes(new byte[2 * 1024 * 1024]));
            Expect.Problem(HttpStatusCode.ServiceUnavailable, ProblemTypes.StorageUnavailable, upload, "an upload on a full disk");
        }
        finally
        {
            File.Delete(filler);
        }

        Expect.Problem(HttpStatusCode.OK, null, await AttackHttp.SendAsync(service.Http, HttpMethod.Get, "health/ready", null), "ready again");
        var again = await AttackHttp.SendAsync(service.Http, HttpMethod.Put, $"v1/tenants/{t.Tenant}/sessions/s1/payloads/big", t.ModellerKey.ApiKey,
            AttackHttp.Bytes(new byte[2 * 1024 * 1024]));
        Assert.Equal(HttpStatusCode.Created, again.Status);
    }

    [Fact]
    public async Task ADatabaseLockedBySomeoneElse_MakesTheNodeNotReady_AndWritesFailAsStorageUnavailable()
    {
        Expect.Problem(HttpStatusCode.OK, null, await AttackHttp.SendAsync(service.Http, HttpMethod.Get, "health/ready", null), "ready before");
        await using (var holder = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = service.DatabasePath, Pooling = false }.ToString()))
        {
            await holder.OpenAsync();
            await using var begin = holder.CreateCommand();
            begin.CommandText = "BEGIN EXCLUSIVE";
            await begin.ExecuteNonQueryAsync();

            var ready = await AttackHttp.SendAsync(service.Http, HttpMethod.Get, "health/ready", null);
            Expect.Problem(HttpStatusCode.ServiceUnavailable, ProblemTypes.StorageUnavailable, ready, "ready while locked");
            var create = await AttackHttp.SendAsync(service.Http, HttpMethod.Post, "v1/tenants", service.OperatorKey,
                System.Net.Http.Json.JsonContent.Create(new CreateTenantRequest("locked-" + Guid.NewGuid().ToString("N")[..8], "Locked")));
            Expect.Problem(HttpStatusCode.ServiceUnavailable, ProblemTypes.StorageUnavailable, create, "a write while locked");
            Assert.NotNull(create.RetryAfter);

            await using var rollback = holder.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            await rollback.ExecuteNonQueryAsync();
        }

        Expect.Problem(HttpStatusCode.OK, null, await AttackHttp.SendAsync(service.Http, HttpMethod.Get, "health/ready", null), "ready again");
    }

    /// <summary>Writes zeros until the volume has no space left (in ever smaller blocks, so nothing is left over).</summary>
    private static async Task FillAsync(string path)
    {
        var block = new byte[1024 * 1024];
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        for (var size = block.Length; size >= 512; size /= 2)
        {
            try
            {
                while (true) await file.WriteAsync(block.AsMemory(0, size));
            }
            catch (IOException)
            {
                // this block size no longer fits
            }
        }
    }
}
