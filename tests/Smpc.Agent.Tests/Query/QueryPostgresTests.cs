using Npgsql;
using Smpc.Agent.DataSources;
using Smpc.Agent.Query;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Query;
using Smpc.TestSupport;

namespace Smpc.Agent.Tests.Query;

/// <summary>One PostgreSQL server and database for the class: the pod's visits (the rows of <see cref="QueryTestData.Visits"/>, seed 21) and a secrets table.</summary>
public sealed class PostgresVisitsFixture : IAsyncLifetime
{
    private PostgresServer? _server;

    public string ConnectionString { get; private set; } = "";

    public List<Visit> Rows { get; } = QueryTestData.Visits(21, (_, _) => null);

    public async Task InitializeAsync()
    {
        var server = _server = await PostgresServer.StartAsync();
        try
        {
            await FillAsync(server);
        }
        catch (Exception)
        {
            await DisposeAsync(); // the server this fixture started does not outlive its failed start
            throw;
        }
    }

    private async Task FillAsync(PostgresServer server)
    {
        ConnectionString = await server.CreateDatabaseAsync("fedquery");
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand(
            "CREATE TABLE visits (region text, age integer, stay double precision, admitted date); CREATE TABLE secrets (region text, salary numeric); INSERT INTO secrets VALUES ('north', 1e6);",
            connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        await using var import = await connection.BeginBinaryImportAsync("COPY visits (region, age, stay, admitted) FROM STDIN (FORMAT BINARY)");
        foreach (var v in Rows)
        {
            await import.StartRowAsync();
            await import.WriteAsync(v.Region);
            await import.WriteAsync((int)v.Age);
            await import.WriteAsync(v.Stay);
            await import.WriteAsync(DateOnly.Parse(v.Admitted, System.Globalization.CultureInfo.InvariantCulture), NpgsqlTypes.NpgsqlDbType.Date);
        }

        await import.CompleteAsync();
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _server = null;
    }
}

public sealed class QueryPostgresTests(PostgresVisitsFixture pg) : IClassFixture<PostgresVisitsFixture>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("smpc-fq-pg-").FullName;

    private RecordSourceConfig Source => new() { Kind = "postgres", ConnectionString = pg.ConnectionString };

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Postgres_AnswersLikeTheSameRowsInSqlite()
    {
        // PostgreSQL's integer division and avg (numeric for integers, double here) give the same cells as SQLite's.
        await QueryTestData.WriteSqliteAsync(Path.Combine(_directory, "same.db"), pg.Rows);
        var query = QueryTestData.Query();
        var shape = QueryShape.Create(query);

        var fromPostgres = await QueryExecutor.RunAsync(shape, query, "visits", Source, QueryTestData.Policy(), _directory, default);
        var fromSqlite = await QueryExecutor.RunAsync(shape, query, "visits", new RecordSourceConfig { Kind = "sqlite", Path = "same.db" }, QueryTestData.Policy(), _directory, default);

        Assert.Equal(fromSqlite.Counts, fromPostgres.Counts);
        Assert.Equal(fromSqlite.RowsReturned, fromPostgres.RowsReturned);
        Assert.Equal(fromSqlite.Sums[0], fromPostgres.Sums[0], (a, b) => Math.Abs(a - b) < 1e-9);
        Assert.Equal(fromSqlite.Sums[1], fromPostgres.Sums[1], (a, b) => Math.Abs(a - b) < 1e-9);
    }

    [Fact]
    public async Task Postgres_DateKeysAndNumericAggregates_MapToCells()
    {
        var query = new QueryRequest(
            "SELECT date_trunc('month', admitted)::date AS month, count(*) AS n, sum(age::numeric) AS ages FROM public.visits GROUP BY 1",
            "visits",
            [new GroupByRequest("month", DateBins: new DateBinsRequest("2024-01-01", "2025-01-01", "month"))],
            [new QueryAggregateRequest("n", "count"), new QueryAggregateRequest("ages", "sum", 0, 1e6)]);
        var shape = QueryShape.Create(query);

        var result = await QueryExecutor.RunAsync(shape, query, "visits", Source, QueryTestData.Policy() with { Tables = new() { ["public.visits"] = ["*"] } }, _directory, default);

        for (var month = 1; month <= 12; month++)
        {
            var prefix = $"2024-{month:00}-";
            var rows = pg.Rows.Where(v => v.Admitted.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            Assert.Equal(rows.Count, result.Counts[0][month - 1]);
            Assert.Equal(rows.Sum(v => (double)v.Age), result.Sums[0][month - 1]);
        }
    }

    [Theory]
    [InlineData("SELECT 'north' AS region, 0 AS age, count(*) AS n FROM secrets", "the query reads table public.secrets, which this pod's policy does not allow")]
    [InlineData("SELECT 'north' AS region, 0 AS age, count(*) AS n FROM pg_catalog.pg_class", "the query reads table pg_catalog.pg_class, which this pod's policy does not allow")]
    [InlineData("SELECT region, 0 AS age, count(*) AS n FROM visits WHERE region IN (SELECT region FROM secrets) GROUP BY region", "table public.secrets")]
    [InlineData("SELECT region, age, 1 AS n FROM visits", "not an aggregate query")]
    [InlineData("UPDATE visits SET stay = 0", "must be a SELECT statement, not UPDATE")]
    [InlineData("DELETE FROM visits", "must be a SELECT statement, not DELETE")]
    [InlineData("CREATE TABLE x (i int)", "must be a SELECT statement, not CREATE")]
    [InlineData("SELECT 'north' AS region, 0 AS age, count(*) AS n FROM visits; DELETE FROM visits", "single SQL statement")]
    [InlineData("SELECT 'north' AS region, 0 AS age, count(*) AS n FROM visits WHERE region <> $$;$$; DROP TABLE visits", "single SQL statement")]
    [InlineData("SELECT 'north' AS region, 0 AS age, count(*) AS n FROM visits WHERE region <> E'\\';' ; DROP TABLE visits", "single SQL statement")]
    [InlineData("WITH d AS (DELETE FROM visits RETURNING 1) SELECT 'north' AS region, 0 AS age, count(*) AS n FROM d", "tries to change data")]
    [InlineData("SELECT 'north' AS region, 0 AS age, count(*) AS n INTO copied FROM visits", "tries to change data")]
    [InlineData("SELECT 'north' AS region, 0 AS age, count(*) AS n FROM visits GROUP BY regoin", "the query failed on this pod's database: column \"regoin\" does not exist")]
    public async Task Postgres_RefusesForbiddenTablesWritesAndRowLevelQueries_AndChangesNothing(string sql, string expected)
    {
        var query = CountOnly(sql);

        var error = await Assert.ThrowsAsync<QueryRefusedException>(() =>
            QueryExecutor.RunAsync(QueryShape.Create(query), query, "visits", Source, QueryTestData.Policy(), _directory, default));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        await using var connection = new NpgsqlConnection(pg.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT (SELECT count(*) FROM visits) + (SELECT count(*) FROM pg_tables WHERE tablename IN ('x', 'copied'))", connection);
        Assert.Equal((long)pg.Rows.Count, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Postgres_PolicyListingColumns_IsRefusedAsUnenforceable()
    {
        var policy = QueryTestData.Policy() with { Tables = new() { ["visits"] = ["region", "age", "stay"] } };
        var query = QueryTestData.Query();

        var error = await Assert.ThrowsAsync<QueryRefusedException>(() => QueryExecutor.RunAsync(QueryShape.Create(query), query, "visits", Source, policy, _directory, default));

        Assert.StartsWith("this pod's policy limits the columns of table public.visits, which cannot be checked on PostgreSQL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Postgres_LongQuery_IsStoppedAtTheTimeLimit()
    {
        var query = CountOnly("SELECT 'north' AS region, 0 AS age, count(*) AS n FROM visits WHERE pg_sleep(0.05) IS NOT NULL");

        var error = await Assert.ThrowsAsync<QueryRefusedException>(() =>
            QueryExecutor.RunAsync(QueryShape.Create(query), query, "visits", Source, QueryTestData.Policy(timeLimitSeconds: 0.5), _directory, default));

        Assert.Equal("the query exceeded this pod's time limit of 0.5 s", error.Message);
    }

    private static QueryRequest CountOnly(string sql) => QueryTestData.Query(sql: sql) with { Aggregates = [new QueryAggregateRequest("n", "count")] };
}
