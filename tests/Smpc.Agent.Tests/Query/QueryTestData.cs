using System.Globalization;
using Microsoft.Data.Sqlite;
using Smpc.Agent.Query;
using Smpc.Contracts;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.Federated.Query;
using Smpc.Protocols.Field;

namespace Smpc.Agent.Tests.Query;

/// <summary>One visit row of a pod's table.</summary>
public sealed record Visit(string Region, long Age, double Stay, string Admitted);

/// <summary>Test data for federated queries: pods' visit tables, SQLite files, and the secure sum done in the clear.</summary>
public static class QueryTestData
{
    public static readonly string[] Regions = ["north", "south", "east", "west"];

    /// <summary>Per cell (region, 20-year age bin) per pod; decades make two SQL rows per cell, so rows must add up.</summary>
    public const string Sql = """
        SELECT region, (age / 10) * 10 AS age, count(*) AS n, sum(stay) AS total_stay, avg(stay) AS mean_stay
        FROM visits
        GROUP BY region, age / 10
        """;

    public static QueryRequest Query(long minPooledCount = 5, double meanMax = 30, string sql = Sql) => new(
        sql,
        "visits",
        [new GroupByRequest("region", Values: Regions), new GroupByRequest("age", Bins: new IntegerBinsRequest(0, 100, 20))],
        [
            new QueryAggregateRequest("n", "count"),
            new QueryAggregateRequest("total_stay", "sum", 0, 10_000),
            new QueryAggregateRequest("mean_stay", "mean", 0, meanMax),
        ],
        MinPooledCount: minPooledCount);

    public static QueryPolicy Policy(long minRowsPerGroup = 0, double timeLimitSeconds = 10) => new()
    {
        Tables = new() { ["visits"] = ["*"] },
        MinRowsPerGroup = minRowsPerGroup,
        TimeLimitSeconds = timeLimitSeconds,
    };

    /// <summary>
    /// Rows of one pod: 3–11 visits in each (region, age bin) cell, except that <paramref name="rowsIn"/> overrides the
    /// number in a cell (0 = the pod has no such group).
    /// </summary>
    public static List<Visit> Visits(int seed, Func<string, int, int?> rowsIn)
    {
        var random = new Random(seed);
        var rows = new List<Visit>();
        foreach (var region in Regions)
        {
            for (var bin = 0; bin < 5; bin++)
            {
                var n = rowsIn(region, bin) ?? random.Next(3, 12);
                for (var i = 0; i < n; i++)
                {
                    var admitted = new DateOnly(2024, 1, 1).AddDays(random.Next(366));
                    rows.Add(new Visit(region, (bin * 20) + random.Next(20), Math.Round(random.NextDouble() * 30, 3), admitted.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));
                }
            }
        }

        return rows;
    }

    /// <summary>Creates a SQLite file with table visits (and a table secrets the policies do not allow).</summary>
    public static async Task WriteSqliteAsync(string path, IEnumerable<Visit> visits, string? pod = null)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var transaction = connection.BeginTransaction();
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = (pod is null ? "CREATE TABLE IF NOT EXISTS visits (region TEXT, age INTEGER, stay REAL, admitted TEXT);"
                : "CREATE TABLE IF NOT EXISTS visits (pod TEXT, region TEXT, age INTEGER, stay REAL, admitted TEXT);")
                + "CREATE TABLE IF NOT EXISTS secrets (region TEXT, salary REAL); INSERT INTO secrets VALUES ('north', 1e6);";
            await create.ExecuteNonQueryAsync();
        }

        await using var insert = connection.CreateCommand();
        insert.CommandText = pod is null
            ? "INSERT INTO visits VALUES ($region, $age, $stay, $admitted)"
            : "INSERT INTO visits VALUES ($pod, $region, $age, $stay, $admitted)";
        var p = insert.Parameters;
        var (podP, region, age, stay, admitted) = (p.Add("$pod", SqliteType.Text), p.Add("$region", SqliteType.Text), p.Add("$age", SqliteType.Integer), p.Add("$stay", SqliteType.Real), p.Add("$admitted", SqliteType.Text));
        foreach (var v in visits)
        {
            (podP.Value, region.Value, age.Value, stay.Value, admitted.Value) = (pod ?? (object)DBNull.Value, v.Region, v.Age, v.Stay, v.Admitted);
            await insert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    public static async Task WriteCsvAsync(string path, IEnumerable<Visit> visits)
    {
        var lines = visits.Select(v => string.Create(CultureInfo.InvariantCulture, $"{v.Region},{v.Age},{v.Stay:R},{v.Admitted}"));
        await File.WriteAllTextAsync(path, "region,age,stay,admitted\n" + string.Join("\n", lines) + "\n");
    }

    /// <summary>What secure aggregation computes, done in the clear: each pod's vector encoded with the fields' codec (at the 50-pod bound), summed in Z_q, decoded.</summary>
    public static Dictionary<string, double[]> SecureSum(IReadOnlyList<AggregationFieldRequest> fields, IEnumerable<double[]> inputs)
    {
        var layout = new VectorLayout(fields.Select(f => new FieldSpec(f.Name, f.Length, f.Precision ?? FieldSpec.DefaultPrecision, f.Min, f.Max)));
        var codec = new FixedPointCodec(PrimeField.Default, layout, SessionLimits.MaxFederatedPods);
        var sum = new ulong[layout.Length];
        foreach (var input in inputs) PrimeField.Default.AddInPlace(sum, codec.Encode(input));
        var decoded = codec.Decode(sum);
        return fields.Select((f, i) => (f.Name, Values: decoded[layout.OffsetOf(i)..(layout.OffsetOf(i) + f.Length)])).ToDictionary(x => x.Name, x => x.Values);
    }
}
