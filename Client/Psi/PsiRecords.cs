using System.Runtime.CompilerServices;
using Smpc.Client.Records;
using Smpc.Contracts;
using Smpc.Protocols;
using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Client.Psi;

/// <summary>A batch of canonically encoded records and the source rows (0-based) they came from.</summary>
public sealed record PsiRecordBatch(List<byte[]> Records, List<long> Rows);

/// <summary>What reading a source found: rows read, rows skipped (blank key columns or values the encoder refuses) by reason, and the first refusal.</summary>
public sealed class PsiReadStats
{
    /// <summary>More than this share of skipped rows earns a loud warning: matches are being lost, not just noise.</summary>
    public const double WarnSkippedShare = 0.01;

    public long Rows { get; set; }
    public long Skipped { get; set; }
    public string? FirstProblem { get; set; }

    /// <summary>Skipped rows per stable reason code (<see cref="RecordRefusal"/>: blank, phone-too-short, email-invalid, …).</summary>
    public Dictionary<string, long> SkippedByReason { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether more than <see cref="WarnSkippedShare"/> of the rows were skipped.</summary>
    public bool SkippedTooMany => Rows > 0 && Skipped > Rows * WarnSkippedShare;

    /// <summary>"phone-too-short 12, blank 3": reasons by count, largest first.</summary>
    public string ReasonSummary() =>
        string.Join(", ", SkippedByReason.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {r.Value}"));

    /// <summary>Counts one skipped row under <paramref name="reason"/>.</summary>
    public void Skip(string reason)
    {
        Skipped++;
        SkippedByReason[reason] = SkippedByReason.GetValueOrDefault(reason) + 1;
    }
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
        var indices = RecordColumns.Resolve(source, [.. columns.Select(c => c.Name)]);
        var batch = new PsiRecordBatch([], []);
        var values = new string?[indices.Length];
        await foreach (var row in source.ReadRowsAsync(ct))
        {
            var number = stats.Rows++;
            for (var i = 0; i < indices.Length; i++) values[i] = row[indices[i]];
            if (values.All(RecordEncoder.IsAbsent))
            {
                stats.Skip(RecordRefusal.Blank);
                continue;
            }

            try
            {
                batch.Records.Add(encoder.Encode(values));
                batch.Rows.Add(number);
            }
            catch (ProtocolException ex)
            {
                stats.Skip((ex as InputRejectedException)?.Reason ?? RecordRefusal.Malformed);
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
