using Smpc.Grains.Storage;

namespace Smpc.Grains.Tests;

/// <summary>A fresh SQLite database file with the project's schema applied.</summary>
public sealed class SqliteTestDatabase : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "smpc-grains-" + Guid.NewGuid().ToString("N")[..8]);

    public SqliteTestDatabase(string serviceId = "smpc-test")
    {
        Directory.CreateDirectory(_directory);
        Database = new SmpcDatabase(DatabaseProvider.Sqlite, SmpcDatabase.SqliteConnectionString(Path.Combine(_directory, "smpc.db")), serviceId);
        SchemaMigrator.ApplyAsync(Database).GetAwaiter().GetResult();
    }

    public SmpcDatabase Database { get; }

    /// <summary>Runs SQL against the database from outside the silos (fault injection, inspection).</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await Database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = await Database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
