using System.Globalization;
using Microsoft.Data.Sqlite;
using Smpc.Contracts;

namespace Smpc.Samples;

/// <summary>One synthetic hospital admission.</summary>
public sealed record Admission(int Age, string Ward, double LengthOfStay, DateOnly Admitted);

/// <summary>
/// Synthetic hospital admissions for the demo, the tests and the benchmark: a SQLite table
/// <c>admissions(patient_id, age, ward, length_of_stay, admitted)</c>, and the federated query "patients per age band and ward,
/// with mean length of stay".
/// </summary>
public static class HospitalAdmissions
{
    /// <summary>The wards rows are drawn from.</summary>
    public static readonly IReadOnlyList<string> Wards = ["cardiology", "oncology", "surgery", "maternity"];

    /// <summary>Rows from a seeded generator: ages 0–99, stays of 0.25–60 days in quarter days (exact in binary).</summary>
    public static IEnumerable<Admission> Generate(int seed, int rows)
    {
        var random = new Random(seed);
        var start = new DateOnly(2025, 1, 1);
        for (var i = 0; i < rows; i++)
        {
            var age = Math.Clamp((int)(45 + (random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5) * 45), 0, 99);
            var ward = Wards[random.Next(Wards.Count)];
            var stay = Math.Max(1, Math.Round(Math.Exp(random.NextDouble() * 2.5 + (age / 60.0)) * 4)) / 4;
            yield return new Admission(age, ward, Math.Min(stay, 60), start.AddDays(random.Next(365)));
        }
    }

    /// <summary>Writes <paramref name="rows"/> to a new SQLite database at <paramref name="path"/> (replacing it).</summary>
    public static void Write(string path, IEnumerable<Admission> rows)
    {
        if (File.Exists(path)) File.Delete(path);
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE admissions (patient_id INTEGER PRIMARY KEY, age INTEGER NOT NULL, ward TEXT NOT NULL, length_of_stay REAL NOT NULL, admitted TEXT NOT NULL);"
                + "CREATE TABLE staff (name TEXT, salary REAL);";
            create.ExecuteNonQuery();
        }

        using var transaction = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO admissions (age, ward, length_of_stay, admitted) VALUES ($age, $ward, $stay, $admitted)";
        var age = insert.Parameters.Add("$age", SqliteType.Integer);
        var ward = insert.Parameters.Add("$ward", SqliteType.Text);
        var stay = insert.Parameters.Add("$stay", SqliteType.Real);
        var admitted = insert.Parameters.Add("$admitted", SqliteType.Text);
        insert.Prepare();
        foreach (var row in rows)
        {
            age.Value = row.Age;
            ward.Value = row.Ward;
            stay.Value = row.LengthOfStay;
            admitted.Value = row.Admitted.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            insert.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>Patients per age band (10-year bins) and ward, total and mean length of stay, from the pods' source "hospital".</summary>
    public static QueryRequest AgeBandQuery(long minPooledCount = 10) => new(
        "SELECT age, ward, COUNT(*) AS patients, SUM(length_of_stay) AS total_stay, AVG(length_of_stay) AS mean_stay FROM admissions GROUP BY age, ward",
        "hospital",
        [new GroupByRequest("age", Bins: new IntegerBinsRequest(0, 100, 10)), new GroupByRequest("ward", Values: Wards)],
        [
            new QueryAggregateRequest("patients", "count"),
            new QueryAggregateRequest("total_stay", "sum", 0, 10_000_000, Precision: 100),
            new QueryAggregateRequest("mean_stay", "mean", 0, 365, Precision: 10_000),
        ],
        minPooledCount, MaxRowsPerCell: 10_000_000, RoundTimeoutSeconds: 300);
}
