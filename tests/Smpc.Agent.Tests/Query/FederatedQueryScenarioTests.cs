using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Smpc.Agent.DataSources;
using Smpc.Agent.Query;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Query;

namespace Smpc.Agent.Tests.Query;

public sealed class FederatedQueryScenarioTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("smpc-fq-scenario-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task ThreePods_PooledResult_EqualsTheSameSqlOnTheUnionOfTheirRows()
    {
        // A: the only rows of region west (2, in age [40, 60): below the pooled minimum of 5).
        // B: 2 rows in (north, [60, 80)), below its MinRowsPerGroup of 3: suppressed there.
        // C: no rows in region east at all.
        var pods = new Dictionary<string, (List<Visit> Rows, QueryPolicy Policy)>
        {
            ["A"] = (QueryTestData.Visits(1, (r, b) => r == "west" ? (b == 2 ? 2 : 0) : null), QueryTestData.Policy()),
            ["B"] = (QueryTestData.Visits(2, (r, b) => r == "west" ? 0 : r == "north" && b == 3 ? 2 : null), QueryTestData.Policy(minRowsPerGroup: 3)),
            ["C"] = (QueryTestData.Visits(3, (r, _) => r is "west" or "east" ? 0 : null), QueryTestData.Policy()),
        };
        var query = QueryTestData.Query(minPooledCount: 5);
        var shape = QueryShape.Create(query);
        var results = new Dictionary<string, PodQueryResult>();
        foreach (var (pod, (rows, policy)) in pods)
        {
            await QueryTestData.WriteSqliteAsync(Path.Combine(_directory, pod + ".db"), rows);
            results[pod] = await QueryExecutor.RunAsync(shape, query, "visits", new RecordSourceConfig { Kind = "sqlite", Path = pod + ".db" }, policy, _directory, default);
        }

        // Round 1: counts (what secure aggregation computes), then the modeller's release.
        var counts = QueryTestData.SecureSum(shape.CountRoundFields(), results.Values.Select(QueryRoundInputs.CountRoundInput));
        var release = QueryRelease.Decide(shape, counts, query.MinPooledCount);
        var json = JsonSerializer.Serialize(release, new JsonSerializerOptions(JsonSerializerDefaults.Web));
        var received = JsonSerializer.Deserialize<QueryRelease>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        Assert.Equal(release.ReleasedCells, received.ReleasedCells);
        Assert.All(results.Values, own => Assert.Null(QueryRelease.Refusal(shape, received, own, query.MinPooledCount)));

        // Round 2: values of the released cells only.
        var valueFields = shape.ValueRoundFields(received.ReleasedCells.Length);
        var values = QueryTestData.SecureSum(valueFields, results.Values.Select(r => QueryRoundInputs.ValueRoundInput(r, received.ReleasedCells)));
        var table = QueryResultTable.Build(shape, release, counts, values);

        // Expected: the same question on one database holding every pod's rows, minus B's suppressed group.
        var pooledPath = Path.Combine(_directory, "pooled.db");
        foreach (var (pod, (rows, _)) in pods) await QueryTestData.WriteSqliteAsync(pooledPath, rows, pod);
        var expected = await ExpectedAsync(pooledPath, """
            SELECT region, (age / 20) * 20, count(*), sum(stay), avg(stay) FROM visits
            WHERE NOT (pod = 'B' AND region = 'north' AND age >= 60 AND age < 80)
            GROUP BY region, age / 20
            """);

        var northOld = shape.CellOf(["north", 60L])!.Value;
        var westMiddle = shape.CellOf(["west", 40L])!.Value;
        Assert.True(results["B"].Suppressed[northOld]);
        Assert.Equal(0, results["B"].Counts[0][northOld]);
        Assert.Equal(0, results["B"].Sums[1][northOld]);
        Assert.Equal(1, results["B"].Suppressed.Count(s => s));
        Assert.All(Enumerable.Range(0, 5), bin => Assert.Equal(0, results["C"].Counts[0][shape.CellOf(["east", bin * 20L])!.Value]));
        Assert.Equal(pods["A"].Rows.Select(v => (v.Region, v.Age / 10)).Distinct().Count(), results["A"].RowsReturned); // one SQL row per decade

        Assert.Equal(shape.CellCount, table.Rows.Count);
        foreach (var row in table.Rows)
        {
            var key = (row.Keys[0], row.Keys[1]);
            if (!expected.TryGetValue(key, out var e)) e = (0, 0, 0);
            Assert.Equal(e.Count, (long)row.Values[0]!.Value);
            Assert.Equal(e.Count < 5, row.Withheld);
            Assert.Equal(row.Cell == northOld ? 1 : 0, row.SuppressedOn);
            if (row.Withheld)
            {
                Assert.Null(row.Values[1]);
                Assert.Null(row.Values[2]);
                continue;
            }

            // Each pod's sum is rounded to 10^-4: three pods, at most 1.5·10^-4 off; the mean at most that over the count.
            Assert.InRange(row.Values[1]!.Value - e.Sum, -1.5e-4, 1.5e-4);
            Assert.InRange(row.Values[2]!.Value - e.Mean, -1.5e-4 / e.Count, 1.5e-4 / e.Count);
        }

        var west = table.Rows[westMiddle];
        Assert.Equal(["west", "[40, 60)"], west.Keys);
        Assert.Equal(2, west.Values[0]);
        Assert.True(west.Withheld);
        Assert.DoesNotContain(westMiddle, release.ReleasedCells);
        Assert.Equal(15, release.ReleasedCells.Length); // north, south, east × 5 bins
    }

    [Fact]
    public async Task CsvSource_IsLoadedWithInferredTypes_AndAnswersLikeTheSameRowsInSqlite()
    {
        var rows = QueryTestData.Visits(7, (r, _) => r == "west" ? 0 : null);
        await QueryTestData.WriteCsvAsync(Path.Combine(_directory, "visits.csv"), rows);
        await QueryTestData.WriteSqliteAsync(Path.Combine(_directory, "visits.db"), rows);
        var query = QueryTestData.Query();
        var shape = QueryShape.Create(query);

        var fromCsv = await QueryExecutor.RunAsync(shape, query, "visits", new RecordSourceConfig { Kind = "csv", Path = "visits.csv" }, QueryTestData.Policy(), _directory, default);
        var fromSqlite = await QueryExecutor.RunAsync(shape, query, "visits", new RecordSourceConfig { Kind = "sqlite", Path = "visits.db" }, QueryTestData.Policy(), _directory, default);

        Assert.Equal(fromSqlite.Counts, fromCsv.Counts);
        Assert.Equal(fromSqlite.RowsReturned, fromCsv.RowsReturned);
        for (var v = 0; v < fromSqlite.Sums.Length; v++)
        {
            Assert.Equal(fromSqlite.Sums[v], fromCsv.Sums[v], (a, b) => Math.Abs(a - b) < 1e-9);
        }
    }

    [Fact]
    public async Task CsvSource_ColumnTypes_IntegerRealText_EmptyIsNull_AndDateBinsCollectIsoDates()
    {
        await File.WriteAllTextAsync(Path.Combine(_directory, "mixed.csv"), """
            id,score,code,admitted
            1,2.5,7,2024-01-15
            2,,x1,2024-01-31 12:00:00
            -3,4,,2024-02-01T08:00:00Z
            4,1e3,9,2024-03-09

            """.Replace("\r", "", StringComparison.Ordinal));
        var query = new QueryRequest(
            """
            SELECT typeof(id) AS id_type, typeof(score) AS score_type, typeof(code) AS code_type, admitted,
                   count(*) AS n, count(score) AS scored, sum(coalesce(score, 0)) AS total
            FROM mixed GROUP BY 1, 2, 3, admitted
            """,
            "mixed",
            [
                new GroupByRequest("id_type", Values: ["integer"]),
                new GroupByRequest("score_type", Values: ["real", "null"]),
                new GroupByRequest("code_type", Values: ["text", "null"]),
                new GroupByRequest("admitted", DateBins: new DateBinsRequest("2024-01-01", "2024-04-01", "month")),
            ],
            [new QueryAggregateRequest("n", "count"), new QueryAggregateRequest("scored", "count"), new QueryAggregateRequest("total", "sum", 0, 10_000)]);
        var shape = QueryShape.Create(query);

        var result = await QueryExecutor.RunAsync(
            shape, query, "mixed", new RecordSourceConfig { Path = "mixed.csv" }, new QueryPolicy { Tables = new() { ["mixed"] = ["*"] } }, _directory, default);

        int Cell(string score, string code, string month) => shape.CellOf(["integer", score, code, month + "-01"])!.Value;
        Assert.Equal(4, result.RowsReturned);
        Assert.Equal(1, result.Counts[0][Cell("real", "text", "2024-01")]);
        Assert.Equal(1, result.Counts[0][Cell("null", "text", "2024-01")]);
        Assert.Equal(0, result.Counts[1][Cell("null", "text", "2024-01")]);
        Assert.Equal(1, result.Counts[0][Cell("real", "null", "2024-02")]);
        Assert.Equal(1, result.Counts[0][Cell("real", "text", "2024-03")]);
        Assert.Equal(4, result.Counts[0].Sum());
        Assert.Equal(2.5 + 4 + 1000, result.Sums[0].Sum());
        Assert.Equal(["integer", "real", "text", "2024-03"], shape.CellLabels(Cell("real", "text", "2024-03")));
    }

    [Fact]
    public async Task CsvSource_IsATableNamedAfterTheSource_UnderThePolicy()
    {
        await QueryTestData.WriteCsvAsync(Path.Combine(_directory, "visits.csv"), QueryTestData.Visits(8, (_, _) => null));
        var query = QueryTestData.Query();
        var csv = new RecordSourceConfig { Kind = "csv", Path = "visits.csv" };

        var otherName = await Assert.ThrowsAsync<QueryRefusedException>(() =>
            QueryExecutor.RunAsync(QueryShape.Create(query), query, "stays", csv, QueryTestData.Policy() with { Tables = new() { ["stays"] = ["*"] } }, _directory, default));
        var column = await Assert.ThrowsAsync<QueryRefusedException>(() =>
            QueryExecutor.RunAsync(QueryShape.Create(query), query, "visits", csv, QueryTestData.Policy() with { Tables = new() { ["visits"] = ["region", "age"] } }, _directory, default));

        Assert.StartsWith("the query failed on this pod's database: SQLite Error 1: 'no such table: visits'", otherName.Message, StringComparison.Ordinal);
        Assert.Equal("the query reads column visits.stay, which this pod's policy does not allow", column.Message);
    }

    [Fact]
    public async Task ZeroGroupBy_IsOneCell()
    {
        await QueryTestData.WriteSqliteAsync(Path.Combine(_directory, "v.db"), QueryTestData.Visits(4, (_, _) => null));
        var query = new QueryRequest("SELECT count(*) AS n, avg(stay) AS mean_stay FROM visits", "visits", [],
            [new QueryAggregateRequest("n", "count"), new QueryAggregateRequest("mean_stay", "mean", 0, 30)]);
        var shape = QueryShape.Create(query);

        var result = await QueryExecutor.RunAsync(shape, query, "visits", new RecordSourceConfig { Kind = "sqlite", Path = "v.db" }, QueryTestData.Policy(), _directory, default);

        Assert.Equal(1, shape.CellCount);
        Assert.Empty(shape.CellLabels(0));
        Assert.Equal(await ScalarAsync("SELECT count(*) FROM visits"), result.Counts[0][0]);
        Assert.Equal(await ScalarAsync("SELECT sum(stay) FROM visits"), result.Sums[0][0], 9);
    }

    private async Task<double> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory, "v.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToDouble(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    private static async Task<Dictionary<(string Region, string Bin), (long Count, double Sum, double Mean)>> ExpectedAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var expected = new Dictionary<(string, string), (long, double, double)>();
        while (await reader.ReadAsync())
        {
            var bin = reader.GetInt64(1);
            expected[(reader.GetString(0), string.Create(CultureInfo.InvariantCulture, $"[{bin}, {bin + 20})"))] = (reader.GetInt64(2), reader.GetDouble(3), reader.GetDouble(4));
        }

        return expected;
    }
}
