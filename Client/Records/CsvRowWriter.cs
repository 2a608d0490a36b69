using System.Buffers;
using System.Text;

namespace Smpc.Client.Records;

/// <summary>Writes rows as RFC 4180 CSV (quotes only when needed), UTF-8 without BOM, "\n" line ends; used for the modeller's matching rows.</summary>
public sealed class CsvRowWriter : IDisposable, IAsyncDisposable
{
    private readonly StreamWriter _writer;
    private readonly char _delimiter;
    private readonly int _columnCount;
    private readonly SearchValues<char> _needsQuotes;

    /// <summary>Creates (or replaces) <paramref name="path"/> and writes the header.</summary>
    public CsvRowWriter(string path, IReadOnlyList<string> columns, string delimiter = ",")
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentOutOfRangeException.ThrowIfZero(columns.Count);
        if (delimiter is not { Length: 1 } || delimiter[0] is '"' or '\r' or '\n')
        {
            throw new ArgumentException("The delimiter must be one character other than a quote or line break.", nameof(delimiter));
        }

        _delimiter = delimiter[0];
        _columnCount = columns.Count;
        _needsQuotes = SearchValues.Create([_delimiter, '"', '\r', '\n']);
        var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.Read, BufferSize = 0 });
        _writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true), bufferSize: 32 * 1024)
        {
            NewLine = "\n",
        };
        WriteFields(columns);
    }

    /// <summary>Data rows written so far (the header not counted).</summary>
    public int RowsWritten { get; private set; }

    /// <summary>Writes one row; null is written as an empty field.</summary>
    public void WriteRow(IReadOnlyList<string?> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count != _columnCount)
        {
            throw new ArgumentException($"A row has {values.Count} values; the header has {_columnCount} columns.", nameof(values));
        }

        WriteFields(values);
        RowsWritten++;
    }

    public void Dispose() => _writer.Dispose();

    public ValueTask DisposeAsync() => _writer.DisposeAsync();

    private void WriteFields(IReadOnlyList<string?> values)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0) _writer.Write(_delimiter);
            var value = values[i] ?? string.Empty;
            if (value.Length == 0)
            {
                // A lone empty field would be an empty line, which readers skip: quote it so the row survives.
                if (_columnCount == 1) _writer.Write("\"\"");
            }
            else if (value.AsSpan().ContainsAny(_needsQuotes))
            {
                _writer.Write('"');
                _writer.Write(value.Replace("\"", "\"\"", StringComparison.Ordinal));
                _writer.Write('"');
            }
            else
            {
                _writer.Write(value);
            }
        }

        _writer.Write('\n');
    }
}
