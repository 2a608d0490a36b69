using System.Reflection;
using Microsoft.Data.Sqlite;

namespace Smpc.Grains.Storage;

/// <summary>Applies the project's own idempotent SQL scripts (deploy/sql, embedded in this assembly) to a database.</summary>
public static class SchemaMigrator
{
    // Any constant works; it only has to be the same in every silo so concurrent starts take turns.
    private const long PostgresAdvisoryLockId = 0x534D5043; // "SMPC"

    /// <summary>The embedded scripts for a provider, in the order they are applied.</summary>
    public static IReadOnlyList<(string Name, string Sql)> Scripts(DatabaseProvider provider)
    {
        var folder = provider == DatabaseProvider.PostgreSql ? "sql/postgresql/" : "sql/sqlite/";
        var assembly = typeof(SchemaMigrator).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(folder, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => (n[folder.Length..], Read(assembly, n)))
            .ToList();
    }

    /// <summary>Applies every script; safe to run at every start and from several processes at once.</summary>
    public static async Task ApplyAsync(SmpcDatabase database, CancellationToken cancellationToken = default)
    {
        if (database.Provider == DatabaseProvider.Sqlite)
        {
            var path = new SqliteConnectionStringBuilder(database.ConnectionString).DataSource;
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(directory)) OwnerOnly.Directory(directory);
            OwnerOnly.DatabaseFiles(path);
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        if (database.Provider == DatabaseProvider.Sqlite)
        {
            // WAL lets readers proceed during writes and survives kill -9 with synchronous=FULL semantics on commit.
            await using var wal = connection.CreateCommand();
            wal.CommandText = "PRAGMA journal_mode=WAL;";
            await wal.ExecuteNonQueryAsync(cancellationToken);
        }
        else
        {
            await using var @lock = connection.CreateCommand();
            @lock.CommandText = $"SELECT pg_advisory_lock({PostgresAdvisoryLockId})";
            await @lock.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            foreach (var (name, sql) in Scripts(database.Provider))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = sql;
                try
                {
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    throw new InvalidOperationException($"Schema script {name} failed: {ex.Message}", ex);
                }

                await transaction.CommitAsync(cancellationToken);
            }
        }
        finally
        {
            if (database.Provider == DatabaseProvider.PostgreSql)
            {
                await using var unlock = connection.CreateCommand();
                unlock.CommandText = $"SELECT pg_advisory_unlock({PostgresAdvisoryLockId})";
                await unlock.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
    }

    /// <summary>The query keys present in <c>OrleansQuery</c>.</summary>
    public static async Task<IReadOnlySet<string>> ReadQueryKeysAsync(SmpcDatabase database, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT QueryKey FROM OrleansQuery";
        var keys = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) keys.Add(reader.GetString(0));
        return keys;
    }

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
