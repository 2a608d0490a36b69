using System.Diagnostics;
using Npgsql;

namespace Smpc.TestSupport;

/// <summary>
/// A real PostgreSQL server for tests: the one named by <c>SMPC_TEST_POSTGRES</c> (CI starts it), or else a throw-away
/// server started with deploy/pg-local.sh in a temporary folder. Each test gets a database of its own.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    public const string EnvironmentVariable = "SMPC_TEST_POSTGRES";

    private readonly string? _ownedDirectory;

    private PostgresServer(string connectionString, string? ownedDirectory)
    {
        AdminConnectionString = connectionString;
        _ownedDirectory = ownedDirectory;
    }

    /// <summary>Connection string of the server's maintenance database.</summary>
    public string AdminConnectionString { get; }

    /// <summary>Uses the configured server or starts one (on a port pg-local.sh picks, and picks again when another process takes it first).</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(configured)) return new PostgresServer(configured, null);

        var directory = Path.Combine(Path.GetTempPath(), "smpc-pg-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var (exit, output) = await RunScriptAsync("start", directory, "0");
            if (exit != 0) throw new InvalidOperationException($"Could not start PostgreSQL ({exit}): {output}");
            return new PostgresServer(output.Trim().Split('\n')[^1].Trim(), directory);
        }
        catch (Exception)
        {
            await new PostgresServer("", directory).DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "smpc")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)].ToLowerInvariant();
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_ownedDirectory is null) return;
        await RunScriptAsync("stop", _ownedDirectory);
        try { Directory.Delete(_ownedDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static async Task<(int, string)> RunScriptAsync(params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(RepoPaths.Root, "deploy", "pg-local.sh"));
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, process.ExitCode == 0 ? await stdout : await stderr + await stdout);
    }
}
