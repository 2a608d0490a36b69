using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Smpc.Agent.DataSources;
using Smpc.Client.Psi;
using Smpc.Contracts;
using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Bench.Kernels;

/// <summary>
/// Reading PSI records, per record (4096 one-column rows per invocation) for the kinds text (16 hex digits, the harness's
/// "ids" shape), email, phone and integer: the canonical encoder's full Unicode path (the baseline, what every value took
/// before the ASCII fast path), the encoder as shipped, CSV parsing alone, and CSV → canonical records through
/// <see cref="PsiRecords.ReadAsync"/> (parsing plus encoding on all cores).
/// </summary>
[ShortInProcessJob]
[MemoryDiagnoser]
public class RecordBenchmarks
{
    private const int Rows = 4096;
    private string?[][] values = [];
    private RecordEncoder encoder = null!;
    private string directory = "";
    private PsiColumnRequest[] columns = [];

    /// <summary>The column kind.</summary>
    [Params("text", "email", "phone", "integer")]
    public string Kind { get; set; } = "text";

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(19);
        values = [.. Enumerable.Range(0, Rows).Select(_ => new string?[] { Value(random) })];
        columns = [new PsiColumnRequest("v", Kind, Kind == "phone" ? "44" : null)];
        encoder = PsiRecords.Encoder(columns);
        directory = Directory.CreateTempSubdirectory("smpc-record-bench-").FullName;
        var csv = new StringBuilder("v\n");
        foreach (var row in values) csv.Append('"').Append(row[0]!.Replace("\"", "\"\"", StringComparison.Ordinal)).Append("\"\n");
        File.WriteAllText(Path.Combine(directory, "rows.csv"), csv.ToString(), new UTF8Encoding(false));
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(directory, recursive: true);

    /// <summary>Every value through the full Unicode path (NFKC, case folding, NFKC, collapse, UTF-8).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Rows, Description = "encode, full Unicode path")]
    public int EncodeReference()
    {
        var total = 0;
        foreach (var row in values) total += encoder.EncodeReference(row).Length;
        return total;
    }

    /// <summary>The encoder as shipped (ASCII fast path, one core).</summary>
    [Benchmark(OperationsPerInvoke = Rows, Description = "encode")]
    public int Encode()
    {
        var total = 0;
        foreach (var row in values) total += encoder.Encode(row).Length;
        return total;
    }

    /// <summary>CSV parsing alone (one core).</summary>
    [Benchmark(OperationsPerInvoke = Rows, Description = "parse CSV")]
    public async Task<int> ParseCsv()
    {
        await using var source = await RecordSources.OpenAsync(new RecordSourceConfig { Path = "rows.csv" }, directory);
        var total = 0;
        await foreach (var row in source.ReadRowsAsync()) total += row.Length;
        return total;
    }

    /// <summary>CSV to canonical records, as both parties read (parsing overlapped with encoding on all cores).</summary>
    [Benchmark(OperationsPerInvoke = Rows, Description = "CSV → records (PsiRecords)")]
    public async Task<int> ReadRecords()
    {
        await using var source = await RecordSources.OpenAsync(new RecordSourceConfig { Path = "rows.csv" }, directory);
        var total = 0;
        await foreach (var batch in PsiRecords.ReadAsync(source, columns, 4096, new PsiReadStats())) total += batch.Records.Count;
        return total;
    }

    private string Value(Random random) => Kind switch
    {
        "text" => random.NextInt64().ToString("X16", CultureInfo.InvariantCulture),
        "email" => $"First{random.Next(100000)}.Last+news@Example{random.Next(100)}.com",
        "phone" => $"+44 20 7946 {random.Next(10000):D4}",
        _ => random.NextInt64(-1L << 40, 1L << 40).ToString(CultureInfo.InvariantCulture),
    };
}
