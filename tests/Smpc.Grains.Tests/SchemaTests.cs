using System.Reflection;
using System.Text.RegularExpressions;
using Orleans.Configuration;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Tests;

/// <summary>
/// The schema in deploy/sql against the query keys the pinned Orleans ADO.NET providers demand. The required keys are read
/// from the provider assemblies themselves, so an Orleans upgrade that needs new queries fails here, not at a silo's start.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed partial class SchemaTests(PostgresFixture postgres)
{
    /// <summary>Clustering and reminders check every <c>…Key</c> property of their internal DbStoredQueries at start-up.</summary>
    private static IReadOnlySet<string> StoredQueryKeys(Assembly provider)
    {
        var type = provider.GetTypes().Single(t => t.Name == "DbStoredQueries");
        var keys = type.GetProperties(BindingFlags.Instance | BindingFlags.NonPublic)
            .Where(p => p.PropertyType == typeof(string) && p.Name.EndsWith("Key", StringComparison.Ordinal))
            .Select(p => p.Name)
            .ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(keys);
        return keys;
    }

    /// <summary>Grain storage reads the keys named in its initialization query.</summary>
    private static IReadOnlySet<string> PersistenceKeys()
    {
        var query = (string)typeof(Orleans.Storage.AdoNetGrainStorage).GetField("DefaultInitializationQuery")!.GetRawConstantValue()!;
        var keys = QuotedKey().Matches(query).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("WriteToStorageKey", keys);
        return keys;
    }

    private static Assembly ClusteringAssembly => typeof(AdoNetClusteringSiloOptions).Assembly;

    private static Assembly RemindersAssembly => typeof(AdoNetReminderTableOptions).Assembly;

    [Fact]
    public async Task PostgreSqlSchema_HasEveryQueryKeyThePinnedProvidersRequire()
    {
        var database = new SmpcDatabase(DatabaseProvider.PostgreSql, await postgres.Server.CreateDatabaseAsync(), "svc");
        await SchemaMigrator.ApplyAsync(database);

        var present = await SchemaMigrator.ReadQueryKeysAsync(database);

        Assert.Empty(StoredQueryKeys(ClusteringAssembly).Except(present));
        Assert.Empty(StoredQueryKeys(RemindersAssembly).Except(present));
        Assert.Empty(PersistenceKeys().Except(present));
    }

    [Fact]
    public async Task SqliteSchema_HasEveryGrainStorageQueryKey()
    {
        using var sqlite = new SqliteTestDatabase();

        var present = await SchemaMigrator.ReadQueryKeysAsync(sqlite.Database);

        Assert.Empty(PersistenceKeys().Except(present));
    }

    [Fact]
    public async Task PostgreSqlSchema_AppliedConcurrentlyAndAgain_StaysConsistent()
    {
        var database = new SmpcDatabase(DatabaseProvider.PostgreSql, await postgres.Server.CreateDatabaseAsync(), "svc");

        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => SchemaMigrator.ApplyAsync(database)));
        var first = await SchemaMigrator.ReadQueryKeysAsync(database);
        await SchemaMigrator.ApplyAsync(database);
        var second = await SchemaMigrator.ReadQueryKeysAsync(database);

        Assert.Equal(first.Order(), second.Order());
    }

    [Fact]
    public void EveryScriptIsEmbedded()
    {
        var postgresScripts = SchemaMigrator.Scripts(DatabaseProvider.PostgreSql).Select(s => s.Name).ToList();
        var sqliteScripts = SchemaMigrator.Scripts(DatabaseProvider.Sqlite).Select(s => s.Name).ToList();

        Assert.Equal(Directory.GetFiles(Path.Combine(TestSupport.RepoPaths.Root, "deploy", "sql", "postgresql"), "*.sql").Select(Path.GetFileName).Order(), postgresScripts);
        Assert.Equal(Directory.GetFiles(Path.Combine(TestSupport.RepoPaths.Root, "deploy", "sql", "sqlite"), "*.sql").Select(Path.GetFileName).Order(), sqliteScripts);
    }

    [GeneratedRegex("QueryKey = '([A-Za-z0-9]+)'")]
    private static partial Regex QuotedKey();
}
