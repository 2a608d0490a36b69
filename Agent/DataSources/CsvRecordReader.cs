using System.Buffers;
using System.Text;

namespace Smpc.Agent.DataSources;

/// <summary>
/// A streaming RFC 4180 parser: quoted fields may hold the delimiter, doubled quotes and CR/LF; records end with CRLF,
/// LF or CR; empty lines are skipped. Memory is one buffer plus the current record, whatever the file size.
/// </summary>
/// <remarks>
/// A quote inside an unquoted field is kept as a literal character (as Excel and Python's csv do); text after a closing
/// quote other than a delimiter or line end is an error, since guessing there could silently change a value. Invalid
/// UTF-8 reaches the parser as <see cref="InvalidUtf8"/> and is refused with its line (so is a literal U+FFFF, a
/// noncharacter no real data holds).
/// </remarks>
internal sealed class CsvRecordReader : IDisposable
{
    /// <summary>Longest record accepted; past it the file is almost certainly missing a closing quote.</summary>
    internal const int MaxRecordChars = 4 * 1024 * 1024;

    /// <summary>What the decoder puts in place of invalid UTF-8: a noncharacter, so the error can name its line.</summary>
    internal const char InvalidUtf8 = '\uFFFF';

    private enum State { StartOfField, Unquoted, Quoted, QuoteInQuoted }

    private readonly TextReader _reader;
    private readonly char _delimiter;
    private readonly string _name;
    private readonly char[] _buffer = new char[32 * 1024];
    private readonly List<string> _fields = [];
    private readonly StringBuilder _field = new();
    private int _position;
    private int _length;
    private long _line = 1;
    private bool _previousWasCr;
    private bool _skipLf;

    public CsvRecordReader(TextReader reader, char delimiter, string name)
    {
        _reader = reader;
        _delimiter = delimiter;
        _name = name;
        _unquotedSpecials = SearchValues.Create([delimiter, '\r', '\n', InvalidUtf8]);
    }

    /// <summary>The characters that end a run inside a quoted field.</summary>
    private static readonly SearchValues<char> QuotedSpecials = SearchValues.Create(['"', '\r', '\n', InvalidUtf8]);

    /// <summary>The characters that end a run inside an unquoted field.</summary>
    private readonly SearchValues<char> _unquotedSpecials;

    /// <summary>1-based line on which the record last returned by <see cref="ReadAsync"/> starts.</summary>
    public long RecordLine { get; private set; }

    /// <summary>The next record, or null at the end of the input.</summary>
    public async ValueTask<string[]?> ReadAsync(CancellationToken cancellationToken)
    {
        _fields.Clear();
        _field.Clear();
        RecordLine = _line;
        var state = State.StartOfField;
        var recordChars = 0;
        while (true)
        {
            if (_position == _length && !await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                return state switch
                {
                    State.StartOfField when _fields.Count == 0 => null,
                    State.Quoted => throw Error(RecordLine, "a quoted field is not closed before the end of the file"),
                    _ => EndRecord(),
                };
            }

            if (!_skipLf && state is State.Unquoted or State.Quoted)
            {
                // A run of ordinary characters (no line end, no invalid UTF-8, no delimiter outside quotes, no quote inside)
                // is copied at once: each would only be appended, counted and clear the CR flag.
                var rest = _buffer.AsSpan(_position, _length - _position);
                var run = rest.IndexOfAny(state == State.Quoted ? QuotedSpecials : _unquotedSpecials);
                if (run < 0) run = rest.Length;
                if (run > 0)
                {
                    if ((recordChars += run) > MaxRecordChars)
                    {
                        throw Error(RecordLine, $"a record is longer than {MaxRecordChars} characters (is a closing quote missing?)");
                    }

                    _field.Append(rest[..run]);
                    _position += run;
                    _previousWasCr = false;
                    continue;
                }
            }

            var c = _buffer[_position++];
            if (c == '\n')
            {
                if (!_previousWasCr) _line++;
            }
            else if (c == '\r')
            {
                _line++;
            }

            _previousWasCr = c == '\r';
            if (c == InvalidUtf8) throw Error(_line, "the file is not valid UTF-8 here (save it as UTF-8)");
            if (_skipLf)
            {
                _skipLf = false;
                if (c == '\n') continue;
            }

            if (++recordChars > MaxRecordChars)
            {
                throw Error(RecordLine, $"a record is longer than {MaxRecordChars} characters (is a closing quote missing?)");
            }

            switch (state)
            {
                case State.Quoted:
                    if (c == '"') state = State.QuoteInQuoted;
                    else _field.Append(c);
                    break;

                case State.QuoteInQuoted:
                    if (c == '"')
                    {
                        _field.Append('"');
                        state = State.Quoted;
                    }
                    else if (c == _delimiter)
                    {
                        EndField();
                        state = State.StartOfField;
                    }
                    else if (c is '\r' or '\n')
                    {
                        _skipLf = c == '\r';
                        return EndRecord();
                    }
                    else
                    {
                        throw Error(_line, $"unexpected '{c}' after the closing quote of a field (a quote inside a quoted field is written \"\")");
                    }

                    break;

                default:
                    if (c == _delimiter)
                    {
                        EndField();
                        state = State.StartOfField;
                    }
                    else if (c is '\r' or '\n')
                    {
                        _skipLf = c == '\r';
                        if (state == State.StartOfField && _fields.Count == 0)
                        {
                            // An empty line: skipped, so the next record starts on the following line.
                            RecordLine = _line;
                            recordChars = 0;
                            continue;
                        }

                        return EndRecord();
                    }
                    else if (c == '"' && state == State.StartOfField)
                    {
                        state = State.Quoted;
                    }
                    else
                    {
                        _field.Append(c);
                        state = State.Unquoted;
                    }

                    break;
            }
        }
    }

    public void Dispose() => _reader.Dispose();

    private void EndField()
    {
        _fields.Add(_field.ToString());
        _field.Clear();
    }

    private string[] EndRecord()
    {
        EndField();
        return [.. _fields];
    }

    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        _length = await _reader.ReadAsync(_buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
        _position = 0;
        return _length > 0;
    }

    private InvalidDataException Error(long line, string message) => new($"{_name}: line {line}: {message}.");
}
