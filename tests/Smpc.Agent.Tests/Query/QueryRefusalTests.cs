using System.Diagnostics;
using Smpc.Agent.DataSources;
using Smpc.Agent.Query;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Query;

namespace Smpc.Agent.Tests.Query;

public sealed class QueryRefusalTests : IAsyncLifetime
{
    private static readonly RecordSourceConfig Source = new() { Kind = "sqlite", Path = "pod.db" };
    private readonly string _directory = Directory.CreateTempSubdirectory("smpc-fq-refusal-").FullName;

    public Task InitializeAsync() => QueryTestData.WriteSqliteAsync(Path.Combine(_directory, "pod.db"), QueryTestData.Visits(11, (_, _) => null));

    public Task DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task ForbiddenTable_IsRefusedNamingIt()
    {
        var error = await RefusedAsync(Query("SELECT region, 0 AS age, count(*) AS n FROM secrets GROUP BY region"));

        Assert.Equal("the query reads table secrets, which this pod's policy does not allow", error.Message);
    }

    [Fact]
    public async Task ForbiddenTable_InASubquery_OrTheSchemaTable_IsRefused()
    {
        var sub = await RefusedAsync(Query("SELECT region, 0 AS age, count(*) AS n FROM visits WHERE region IN (SELECT region FROM secrets) GROUP BY region"));
        var schema = await RefusedAsync(Query("SELECT 'north' AS region, 0 AS age, count(*) AS n FROM sqlite_master"));

        Assert.Contains("table secrets", sub.Message, StringComparison.Ordinal);
        Assert.Contains("table sqlite_master", schema.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CommonTableExpressionsAndPlainCounts_Run_AndACteCannotLaunderAForbiddenTable()
    {
        var fine = Query("WITH t AS (SELECT region, age FROM visits WHERE age < 50) SELECT region, 0 AS age, count(*) AS n FROM t GROUP BY region");
        var countAll = Query("SELECT 'north' AS region, 0 AS age, count(*) AS n FROM visits"); // SQLite's Count opcode, no AggStep
        var laundered = Query("WITH visits AS (SELECT region FROM secrets) SELECT region, 0 AS age, count(*) AS n FROM visits GROUP BY region");

        var result = await QueryExecutor.RunAsync(QueryShape.Create(fine), fine, "visits", Source, QueryTestData.Policy(), _directory, default);
        var error = await RefusedAsync(laundered);
        var all = await QueryExecutor.RunAsync(QueryShape.Create(countAll), countAll, "visits", Source, QueryTestData.Policy(), _directory, default);

        Assert.Equal(4, result.RowsReturned);
        Assert.Equal(1, all.RowsReturned);
        Assert.True(all.Counts[0][0] > 0);
        Assert.Equal("the query reads table secrets, which this pod's policy does not allow", error.Message);
    }

    [Fact]
    public async Task ForbiddenColumn_IsRefusedNamingIt_AllowedColumnsPass()
    {
        var policy = QueryTestData.Policy() with { Tables = new() { ["VISITS"] = ["region", "Age"] } };
        var counts = Query("SELECT region, (age / 10) * 10 AS age, count(*) AS n FROM visits GROUP BY region, age / 10");

        var error = await RefusedAsync(Query(QueryTestData.Sql), policy);
        var allowed = await QueryExecutor.RunAsync(QueryShape.Create(counts), counts, "visits", Source, policy, _directory, default);

        Assert.Equal("the query reads column visits.stay, which this pod's policy does not allow", error.Message);
        Assert.True(allowed.Counts[0].Sum() > 0);
    }

    [Fact]
    public async Task EmptyTablePolicy_RefusesEveryQuery()
    {
        var error = await RefusedAsync(Query(QueryTestData.Sql), new QueryPolicy());

        Assert.Equal("this pod's policy allows no table to be queried", error.Message);
    }

    [Theory]
    [InlineData("SELECT region, age, 1 AS n FROM visits", "not an aggregate query")]
    [InlineData("DELETE FROM visits", "must be a SELECT statement, not DELETE")]
    [InlineData("  -- comment\n  PRAGMA table_info(visits)", "must be a SELECT statement, not PRAGMA")]
    [InlineData("ATTACH DATABASE 'other.db' AS other", "must be a SELECT statement, not ATTACH")]
    [InlineData("SELECT region, 0 AS age, count(*) AS n FROM visits GROUP BY region; DELETE FROM visits", "single SQL statement")]
    [InlineData("SELECT region, 0 AS age, count(*) AS n FROM visits GROUP BY region /* ; */; SELECT 1", "single SQL statement")]
    [InlineData("SELECT region, 0 AS age, count(*) AS n FROM visits WHERE region <> 'x'' GROUP BY region", "not closed")]
    [InlineData("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT 'north' AS region, 0 AS age, count(*) AS n FROM r", "reads table r,")]
    [InlineData("SELECT 'north' AS region, 0 AS age, count(*) AS n FROM pragma_table_info('visits')", "reads table pragma_table_info")]
    public async Task NonAggregateOrNonSelectSql_IsRefused(string sql, string expected)
    {
        var error = await RefusedAsync(Query(sql));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SemicolonsInStringsAndComments_AndATrailingSemicolon_AreOneStatement()
    {
        var query = Query("SELECT region, 0 AS age, count(*) AS n FROM visits WHERE region <> ';x' -- ; not a statement\n GROUP BY region; -- done");

        var result = await QueryExecutor.RunAsync(QueryShape.Create(query), query, "visits", Source, QueryTestData.Policy(), _directory, default);

        Assert.Equal(4, result.RowsReturned);
    }

    [Fact]
    public async Task ValueOutsideDeclaredBounds_IsRefused_NamingTheCellOnlyInTheDetail()
    {
        var error = await RefusedAsync(QueryTestData.Query(meanMax: 5));

        Assert.Equal("a cell's column mean_stay is outside the declared bounds [0, 5]", error.Message);
        Assert.Matches(@"^cell \(region=\w+, age=\[\d+, \d+\)\) column mean_stay = [\d.]+ is outside the declared bounds \[0, 5\]$", error.Detail);
    }

    [Fact]
    public async Task CountAboveMaxRowsPerCell_IsRefused()
    {
        var error = await RefusedAsync(QueryTestData.Query() with { MaxRowsPerCell = 2 });

        Assert.Equal("a cell's column n is above the query's maxRowsPerCell 2", error.Message);
    }

    [Fact]
    public async Task KeyOutsideTheDomain_IsRefused_WithTheKeyInTheDetail()
    {
        var query = QueryTestData.Query() with { GroupBy = [new GroupByRequest("region", Values: ["north", "south", "east"]), new GroupByRequest("age", Bins: new IntegerBinsRequest(0, 100, 20))] };

        var error = await RefusedAsync(query);

        Assert.Equal("a result row's key is outside the query's declared group-by domain", error.Message);
        Assert.StartsWith("a result row's key (region=west, age=", error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AgeOutsideTheBins_IsRefused()
    {
        var query = QueryTestData.Query() with { GroupBy = [new GroupByRequest("region", Values: QueryTestData.Regions), new GroupByRequest("age", Bins: new IntegerBinsRequest(0, 80, 20))] };

        var error = await RefusedAsync(query);

        Assert.Matches(@"^a result row's key \(region=\w+, age=(80|90)\) is outside", error.Detail);
    }

    [Fact]
    public async Task MissingResultColumn_IsRefusedNamingIt()
    {
        var error = await RefusedAsync(Query("SELECT region, (age / 10) * 10 AS age_band, count(*) AS cnt FROM visits GROUP BY region, age / 10"));

        Assert.Equal("the query's result has no column age, n (its columns: region, age_band, cnt); every group-by column and aggregate must be returned by name", error.Message);
    }

    [Fact]
    public async Task NegativeCount_IsRefused()
    {
        var error = await RefusedAsync(Query("SELECT region, 0 AS age, count(*) - 1000 AS n FROM visits GROUP BY region"));

        Assert.Equal("column n holds a value that is not a count (a non-negative integer)", error.Message);
        Assert.Contains("holds -9", error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SqlError_IsARefusalNamingTheProblem()
    {
        var error = await RefusedAsync(Query("SELECT region, 0 AS age, count(*) AS n FROM visits GROUP BY regoin"));

        Assert.Equal("the query failed on this pod's database: SQLite Error 1: 'no such column: regoin'.", error.Message);
    }

    [Fact]
    public async Task TooManyCellsForThePolicy_IsRefused()
    {
        var error = await RefusedAsync(QueryTestData.Query(), QueryTestData.Policy() with { MaxCells = 10 });

        Assert.Equal("the query declares 20 cells; this pod's policy allows at most 10", error.Message);
    }

    [Fact]
    public async Task LongQuery_IsStoppedAtTheTimeLimit()
    {
        // ~200 rows to the fourth power: far longer than the limit.
        var query = Query("SELECT 'north' AS region, 0 AS age, count(*) AS n FROM visits a, visits b, visits c, visits d");

        var error = await RefusedAsync(query, QueryTestData.Policy(timeLimitSeconds: 0.3));

        // The refusal names the limit that stopped it; how long that took on this machine is not the test's business.
        Assert.Equal("the query exceeded this pod's time limit of 0.3 s", error.Message);
    }

    [Fact]
    public async Task Cancellation_StopsTheQuery()
    {
        var query = Query("SELECT 'north' AS region, 0 AS age, count(*) AS n FROM visits a, visits b, visits c, visits d");
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            QueryExecutor.RunAsync(QueryShape.Create(query), query, "visits", Source, QueryTestData.Policy(), _directory, cts.Token));
    }

    [Fact]
    public async Task SqliteFile_IsOpenedReadOnly_AndLeftUnchanged()
    {
        var before = await File.ReadAllBytesAsync(Path.Combine(_directory, "pod.db"));
        var query = QueryTestData.Query(meanMax: 30);

        await QueryExecutor.RunAsync(QueryShape.Create(query), query, "visits", Source, QueryTestData.Policy(), _directory, default);

        Assert.Equal(before, await File.ReadAllBytesAsync(Path.Combine(_directory, "pod.db")));
    }

    [Fact]
    public void Policy_ReadsFromCamelCaseJson_AndChecksModellers()
    {
        var policy = System.Text.Json.JsonSerializer.Deserialize<QueryPolicy>(
            """{"modellers":["m1"],"tables":{"visits":["region","age"]},"minRowsPerGroup":5,"timeLimitSeconds":2.5,"maxCells":100}""",
            new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;

        Assert.Equal(["m1"], policy.Modellers);
        Assert.Equal(["region", "age"], policy.Tables["visits"]);
        Assert.Equal((5L, 2.5, 100), (policy.MinRowsPerGroup, policy.TimeLimitSeconds, policy.MaxCells));
        policy.CheckModeller("m1");
        Assert.Equal("modeller 'm2' may not query this pod", Assert.Throws<QueryRefusedException>(() => policy.CheckModeller("m2")).Message);
        new QueryPolicy().CheckModeller("anyone");
    }

    private static QueryRequest Query(string sql) => QueryTestData.Query(sql: sql) with
    {
        Aggregates = [new QueryAggregateRequest("n", "count")],
    };

    private async Task<QueryRefusedException> RefusedAsync(QueryRequest query, QueryPolicy? policy = null) =>
        await Assert.ThrowsAsync<QueryRefusedException>(() =>
            QueryExecutor.RunAsync(QueryShape.Create(query), query, "visits", Source, policy ?? QueryTestData.Policy(), _directory, default));
}
