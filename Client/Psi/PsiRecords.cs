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

    /// <summary>Rows encoded per parallel step: large enough to amortise the hand-off, small enough to keep both steps busy.</summary>
    private const int RowsPerStep = 8192;

    /// <summary>
    /// Reads <paramref name="source"/>, encoding the named columns; rows whose key columns are all blank or cannot be
    /// canonicalised are skipped and counted. Rows are encoded on all cores, a step of rows at a time, while the next step is
    /// read; batches, row numbers, skip counts and the first problem come out exactly as a one-row-at-a-time loop gives them.
    /// </summary>
    public static async IAsyncEnumerable<PsiRecordBatch> ReadAsync(
        IRecordSource source, IReadOnlyList<PsiColumnRequest> columns, int batchSize, PsiReadStats stats, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var encoder = Encoder(columns);
        var indices = RecordColumns.Resolve(source, [.. columns.Select(c => c.Name)]);
        var batch = new PsiRecordBatch([], []);
        var step = new List<string?[]>(RowsPerStep);
        Task<Encoded[]>? encoding = null;
        await foreach (var row in source.ReadRowsAsync(ct))
        {
            var values = new string?[indices.Length];
            for (var i = 0; i < indices.Length; i++) values[i] = row[indices[i]];
            step.Add(values);
            if (step.Count < RowsPerStep) continue;
            if (encoding is not null)
            {
                foreach (var full in Collect(await encoding.ConfigureAwait(false), stats, batchSize, ref batch)) yield return full;
            }

            var rows = step;
            encoding = Task.Run(() => EncodeStep(encoder, rows), ct);
            step = new List<string?[]>(RowsPerStep);
        }

        if (encoding is not null)
        {
            foreach (var full in Collect(await encoding.ConfigureAwait(false), stats, batchSize, ref batch)) yield return full;
        }

        foreach (var full in Collect(EncodeStep(encoder, step), stats, batchSize, ref batch)) yield return full;
        if (batch.Records.Count > 0) yield return batch;
    }

    /// <summary>One row's outcome: its record, or the reason and message it was skipped for.</summary>
    private readonly record struct Encoded(byte[]? Record, string? Reason, string? Problem);

    private static Encoded[] EncodeStep(RecordEncoder encoder, List<string?[]> rows)
    {
        var encoded = new Encoded[rows.Count];
        var parts = Math.Min(Environment.ProcessorCount * 4, Math.Max(1, rows.Count / 256));
        try
        {
            Parallel.For(0, parts, part =>
            {
                for (var r = (int)((long)rows.Count * part / parts); r < (int)((long)rows.Count * (part + 1) / parts); r++)
                    encoded[r] = EncodeRow(encoder, rows[r]);
            });
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count == 1)
        {
            // What a one-row-at-a-time loop would have thrown.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerExceptions[0]);
        }

        return encoded;
    }

    private static Encoded EncodeRow(RecordEncoder encoder, string?[] values)
    {
        if (values.All(RecordEncoder.IsAbsent)) return new(null, RecordRefusal.Blank, null);
        try
        {
            return new(encoder.Encode(values), null, null);
        }
        catch (ProtocolException ex)
        {
            return new(null, (ex as InputRejectedException)?.Reason ?? RecordRefusal.Malformed, ex.Message);
        }
    }

    /// <summary>Counts a step's rows in order, adds its records to <paramref name="batch"/> and returns the batches it filled.</summary>
    private static List<PsiRecordBatch> Collect(Encoded[] step, PsiReadStats stats, int batchSize, ref PsiRecordBatch batch)
    {
        var full = new List<PsiRecordBatch>();
        foreach (var row in step)
        {
            var number = stats.Rows++;
            if (row.Record is null)
            {
                stats.Skip(row.Reason!);
                if (row.Problem is not null) stats.FirstProblem ??= $"row {number + 1}: {row.Problem}";
                continue;
            }

            batch.Records.Add(row.Record);
            batch.Rows.Add(number);
            if (batch.Records.Count == batchSize)
            {
                full.Add(batch);
                batch = new PsiRecordBatch([], []);
            }
        }

        return full;
    }
}
