using System.Globalization;

namespace Smpc.Protocols.Federated.Query;

/// <summary>Maps a query's result rows to the declared cells, adds up rows that share a cell, checks bounds and suppresses small cells.</summary>
public sealed class QueryAccumulator
{
    // Rounding noise allowed when a pod's mean is recomputed as sum / count, relative to the bound.
    private const double RelativeTolerance = 1e-9;

    private readonly QueryShape _shape;
    private readonly long[][] _counts;
    private readonly double[][] _sums;
    private readonly bool[] _seen;
    private readonly int[] _meanCountIndex;
    private readonly object?[] _keys;
    private int[] _keyColumns = [];
    private int[] _countColumns = [];
    private int[] _valueColumns = [];
    private long _rows;

    public QueryAccumulator(QueryShape shape)
    {
        _shape = shape;
        _counts = [.. shape.CountAggregates.Select(_ => new long[shape.CellCount])];
        _sums = [.. shape.ValueAggregates.Select(_ => new double[shape.CellCount])];
        _seen = new bool[shape.CellCount];
        _keys = new object?[shape.KeyColumns.Count];
        _meanCountIndex =
        [
            .. shape.ValueAggregates.Select(a => a.Kind == QueryAggregateKind.Mean
                ? shape.CountAggregates.Select(c => c.Name).ToList().IndexOf(a.CountColumn!)
                : -1),
        ];
    }

    /// <summary>Finds each declared column among the result's columns (ignoring case).</summary>
    /// <exception cref="QueryRefusedException">A column is missing or ambiguous.</exception>
    public void Bind(IReadOnlyList<string> resultColumns)
    {
        int Find(string name)
        {
            var matches = Enumerable.Range(0, resultColumns.Count)
                .Where(i => string.Equals(resultColumns[i], name, StringComparison.OrdinalIgnoreCase)).ToArray();
            return matches.Length == 1 ? matches[0] : -1 - matches.Length;
        }

        var missing = new List<string>();
        var ambiguous = new List<string>();
        int[] Resolve(IEnumerable<string> names) =>
        [
            .. names.Select(n =>
            {
                var i = Find(n);
                if (i == -1) missing.Add(n);
                else if (i < -1) ambiguous.Add(n);
                return i;
            }),
        ];

        _keyColumns = Resolve(_shape.KeyColumns);
        _countColumns = Resolve(_shape.CountAggregates.Select(a => a.Name));
        _valueColumns = Resolve(_shape.ValueAggregates.Select(a => a.Name));
        var columnsText = string.Join(", ", resultColumns);
        if (missing.Count > 0)
        {
            throw new QueryRefusedException($"the query's result has no column {string.Join(", ", missing)} (its columns: {columnsText}); every group-by column and aggregate must be returned by name");
        }

        if (ambiguous.Count > 0)
        {
            throw new QueryRefusedException($"the query's result has more than one column named {string.Join(", ", ambiguous)} (its columns: {columnsText})");
        }
    }

    /// <summary>Adds one result row; <paramref name="row"/> holds the reader's values by result column (null for NULL).</summary>
    /// <exception cref="QueryRefusedException">A key is outside the domain or an aggregate value is not a valid number.</exception>
    public void Add(IReadOnlyList<object?> row)
    {
        _rows++;
        for (var k = 0; k < _keys.Length; k++) _keys[k] = row[_keyColumns[k]];
        if (_shape.CellOf(_keys) is not { } cell)
        {
            var keys = string.Join(", ", _shape.KeyColumns.Select((c, k) => $"{c}={GroupDomain.KeyText(_keys[k]) ?? "NULL"}"));
            throw new QueryRefusedException(
                "a result row's key is outside the query's declared group-by domain",
                $"a result row's key ({keys}) is outside the query's declared group-by domain");
        }

        _seen[cell] = true;
        var rowCounts = new long[_countColumns.Length];
        for (var c = 0; c < _countColumns.Length; c++)
        {
            rowCounts[c] = ToCount(_shape.CountAggregates[c].Name, row[_countColumns[c]]);
            try
            {
                _counts[c][cell] = checked(_counts[c][cell] + rowCounts[c]);
            }
            catch (OverflowException)
            {
                throw new QueryRefusedException($"column {_shape.CountAggregates[c].Name} adds up beyond a 64-bit integer");
            }
        }

        for (var v = 0; v < _valueColumns.Length; v++)
        {
            var value = ToValue(_shape.ValueAggregates[v].Name, row[_valueColumns[v]]);
            _sums[v][cell] += _meanCountIndex[v] >= 0 ? value * rowCounts[_meanCountIndex[v]] : value;
        }
    }

    /// <summary>Checks every cell against the declared bounds, then suppresses cells below <paramref name="minRowsPerGroup"/>.</summary>
    /// <exception cref="QueryRefusedException">A cell's value is outside its declared bounds (never clipped).</exception>
    public PodQueryResult Finish(long minRowsPerGroup)
    {
        var maxRows = _shape.Query.MaxRowsPerCell;
        for (var cell = 0; cell < _shape.CellCount; cell++)
        {
            if (!_seen[cell]) continue;
            for (var c = 0; c < _counts.Length; c++)
            {
                if (_counts[c][cell] > maxRows)
                {
                    var name = _shape.CountAggregates[c].Name;
                    throw new QueryRefusedException(
                        string.Create(CultureInfo.InvariantCulture, $"a cell's column {name} is above the query's maxRowsPerCell {maxRows}"),
                        string.Create(CultureInfo.InvariantCulture, $"cell {_shape.Describe(cell)} column {name} = {_counts[c][cell]} is above the query's maxRowsPerCell {maxRows}"));
                }
            }

            for (var v = 0; v < _sums.Length; v++)
            {
                var a = _shape.ValueAggregates[v];
                if (_meanCountIndex[v] < 0)
                {
                    CheckBounds(cell, a, _sums[v][cell]);
                    continue;
                }

                var count = _counts[_meanCountIndex[v]][cell];
                if (count > 0) CheckBounds(cell, a, _sums[v][cell] / count);

                // Only rounding noise can take mean · count past the field's bound here (the mean is within its bounds).
                _sums[v][cell] = Math.Clamp(_sums[v][cell], a.FieldMin, a.FieldMax);
            }
        }

        var suppressed = new bool[_shape.CellCount];
        var primary = _counts[0];
        for (var cell = 0; cell < _shape.CellCount; cell++)
        {
            if (primary[cell] <= 0 || primary[cell] >= minRowsPerGroup) continue;
            suppressed[cell] = true;
            foreach (var counts in _counts) counts[cell] = 0;
            foreach (var sums in _sums) sums[cell] = 0;
        }

        return new PodQueryResult(_counts, _sums, suppressed, _rows);
    }

    private void CheckBounds(int cell, QueryAggregate a, double value)
    {
        var slack = RelativeTolerance * Math.Max(1, Math.Max(Math.Abs(a.Min), Math.Abs(a.Max)));
        if (value >= a.Min - slack && value <= a.Max + slack) return;
        var bounds = string.Create(CultureInfo.InvariantCulture, $"[{a.Min:R}, {a.Max:R}]");
        throw new QueryRefusedException(
            $"a cell's column {a.Name} is outside the declared bounds {bounds}",
            string.Create(CultureInfo.InvariantCulture, $"cell {_shape.Describe(cell)} column {a.Name} = {value:R} is outside the declared bounds {bounds}"));
    }

    private static long ToCount(string column, object? value)
    {
        // Doubles only up to 9e15, where every whole number is still exact.
        long? count = value switch
        {
            null or DBNull => 0,
            float => null,
            _ => SqlIntegers.From(value, 9e15),
        };
        if (count is not { } n || n < 0)
        {
            throw new QueryRefusedException(
                $"column {column} holds a value that is not a count (a non-negative integer)",
                $"column {column} holds {Describe(value)}, which is not a count (a non-negative integer)");
        }

        return n;
    }

    private static double ToValue(string column, object? value)
    {
        double? number = value switch
        {
            null or DBNull => 0,
            double d => d,
            float f => f,
            long l => l,
            int i => i,
            short s => s,
            sbyte b => b,
            byte b => b,
            ushort u => u,
            uint u => u,
            ulong u => u,
            decimal m => (double)m,
            _ => null,
        };
        if (number is not { } x || !double.IsFinite(x))
        {
            throw new QueryRefusedException(
                $"column {column} holds a value that is not a finite number",
                $"column {column} holds {Describe(value)}, which is not a finite number");
        }

        return x;
    }

    private static string Describe(object? value) => value switch
    {
        string s => $"the text '{s}'",
        byte[] => "a blob",
        _ => GroupDomain.KeyText(value) ?? "NULL",
    };
}
