using System.Runtime.CompilerServices;
using Smpc.Client.Contracts;
using Smpc.Client.Psi.Sources;
using Smpc.Protocols;
using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Client.Psi;

/// <summary>A batch of canonically encoded records and the source rows (0-based) they came from.</summary>
public sealed record PsiRecordBatch(List<byte[]> Records, List<long> Rows);

/// <summary>What reading a source found: rows read, rows skipped (blank key columns or values the encoder refuses), and the first refusal.</summary>
public sealed class PsiReadStats
{
    public long Rows { get; set; }
    public long Skipped { get; set; }
    public string? FirstProblem { get; set; }
}

/// <summary>Streams a record source as encoded PSI records (the shared canonical encoder), batch by batch.</summary>
public static class PsiRecords
{
    /// <summary>The encoder for these columns.</summary>
    public static RecordEncoder Encoder(IReadOnlyList<PsiColumnRequest> columns) =>
        new([.. columns.Select(c => new ColumnSpec(c.Name, ColumnKindNames.All.TryGetValue(c.Kind, out var k) ? k : throw new InvalidDataException($"Column '{c.Name}': unknown kind '{c.Kind}'."), c.CountryCode))]);

    /// <summary>Reads <paramref name="source"/>, encoding the named columns; rows whose key columns are all blank or cannot be canonicalised are skipped and counted.</summary>
    public static async IAsyncEnumerable<PsiRecordBatch> ReadAsync(
        IRecordSource source, IReadOnlyList<PsiColumnRequest> columns, int batchSize, PsiReadStats stats, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var encoder = Encoder(columns);
        var indices = RecordSources.Resolve(source, [.. columns.Select(c => c.Name)]);
        var batch = new PsiRecordBatch([], []);
        var values = new string?[indices.Length];
        await foreach (var row in source.ReadRowsAsync(ct))
        {
            var number = stats.Rows++;
            for (var i = 0; i < indices.Length; i++) values[i] = row[indices[i]];
            if (values.All(string.IsNullOrWhiteSpace))
            {
                stats.Skipped++;
                continue;
            }

            try
            {
                batch.Records.Add(encoder.Encode(values));
                batch.Rows.Add(number);
            }
            catch (ProtocolException ex)
            {
                stats.Skipped++;
                stats.FirstProblem ??= $"row {number + 1}: {ex.Message}";
                continue;
            }

            if (batch.Records.Count == batchSize)
            {
                yield return batch;
                batch = new PsiRecordBatch([], []);
            }
        }

        if (batch.Records.Count > 0) yield return batch;
    }
}
