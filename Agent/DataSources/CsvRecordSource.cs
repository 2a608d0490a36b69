using System.Runtime.CompilerServices;
using System.Text;
using Smpc.Client.Records;

namespace Smpc.Agent.DataSources;

/// <summary>A CSV file with a header row, read as a stream.</summary>
internal sealed class CsvRecordSource : IRecordSource
{
    private readonly CsvRecordReader _csv;
    private readonly string _description;
    private int _started;

    private CsvRecordSource(CsvRecordReader csv, string[] columns, string description)
    {
        _csv = csv;
        Columns = columns;
        _description = description;
    }

    public IReadOnlyList<string> Columns { get; }

    public static async Task<IRecordSource> OpenAsync(string path, string displayPath, char delimiter, CancellationToken cancellationToken)
    {
        var description = "csv " + displayPath;
        if (!File.Exists(path)) throw new InvalidDataException($"{description}: the file '{path}' does not exist.");

        // Invalid UTF-8 is an error rather than U+FFFD: a silently replaced character would make a record miss its match.
        // The decoder marks it with a noncharacter and the parser refuses it, naming the line.
        var utf8 = (Encoding)new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).Clone();
        utf8.DecoderFallback = new DecoderReplacementFallback(CsvRecordReader.InvalidUtf8.ToString());
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.Read,
            Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
            BufferSize = 0,
        });
        var reader = new StreamReader(stream, utf8, detectEncodingFromByteOrderMarks: true, bufferSize: 64 * 1024);
        var csv = new CsvRecordReader(reader, delimiter, description);
        try
        {
            var header = await csv.ReadAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException($"{description}: the file is empty; the first line must be a header naming the columns.");

            // Header names are trimmed ("id, name" is common); values never are.
            return new CsvRecordSource(csv, [.. header.Select(h => h.Trim())], description);
        }
        catch
        {
            csv.Dispose();
            throw;
        }
    }

    public async IAsyncEnumerable<string?[]> ReadRowsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException($"{_description}: the rows of a record source can be read once.");
        long row = 0;
        while (await _csv.ReadAsync(cancellationToken).ConfigureAwait(false) is { } record)
        {
            row++;
            if (record.Length != Columns.Count)
            {
                throw new InvalidDataException(
                    $"{_description}: line {_csv.RecordLine} (row {row}) has {record.Length} field{(record.Length == 1 ? "" : "s")}; the header has {Columns.Count}.");
            }

            yield return record;
        }
    }

    public string Describe() => _description;

    public ValueTask DisposeAsync()
    {
        _csv.Dispose();
        return ValueTask.CompletedTask;
    }
}
