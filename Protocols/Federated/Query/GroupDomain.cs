using System.Globalization;
using System.Text.RegularExpressions;
using Smpc.Contracts;

namespace Smpc.Protocols.Federated.Query;

/// <summary>The declared value domain of one group-by column: its cells in order, their labels, and how SQL keys map to them.</summary>
internal abstract partial class GroupDomain
{
    protected GroupDomain(string column, long size)
    {
        Column = column;
        Size = size;
    }

    /// <summary>The group-by column.</summary>
    public string Column { get; }

    /// <summary>Number of cells along this column (at least 1).</summary>
    public long Size { get; }

    /// <summary>The label of cell <paramref name="index"/>.</summary>
    public abstract string Label(int index);

    /// <summary>The cell an SQL key value falls in, or null when it is outside the domain (NULL always is).</summary>
    public abstract int? IndexOf(object? key);

    /// <summary>Validates a group-by declaration; <paramref name="maxSize"/> caps the cells it may have.</summary>
    public static GroupDomain Create(GroupByRequest g, long maxSize)
    {
        var declared = (g.Values is not null ? 1 : 0) + (g.Bins is not null ? 1 : 0) + (g.DateBins is not null ? 1 : 0);
        if (declared != 1)
        {
            throw new QuerySpecException($"group-by column '{g.Column}' must declare exactly one of values, bins or dateBins (it declares {declared})");
        }

        if (g.Values is not null) return ValuesDomain.Create(g.Column, g.Values);
        if (g.Bins is not null) return IntegerBinsDomain.Create(g.Column, g.Bins, maxSize);
        return DateBinsDomain.Create(g.Column, g.DateBins!, maxSize);
    }

    /// <summary>An SQL value as invariant text, as explicit group-by values are compared; null for NULL.</summary>
    internal static string? KeyText(object? key) => key switch
    {
        null or DBNull or byte[] => null,
        string s => s,
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),

        // G29 drops the trailing zeros of a PostgreSQL numeric, so 12.50 compares equal to "12.5".
        decimal m => m.ToString("G29", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        DateTime t when t.TimeOfDay == TimeSpan.Zero => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTime t => t.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        char c => c.ToString(),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => key.ToString(),
    };

    private sealed class ValuesDomain : GroupDomain
    {
        private readonly string[] _values;
        private readonly Dictionary<string, int> _index;

        private ValuesDomain(string column, string[] values, Dictionary<string, int> index)
            : base(column, values.Length)
        {
            _values = values;
            _index = index;
        }

        public static ValuesDomain Create(string column, IReadOnlyList<string> values)
        {
            if (values.Count == 0) throw new QuerySpecException($"group-by column '{column}' declares an empty list of values");
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < values.Count; i++)
            {
                var v = values[i];
                if (string.IsNullOrEmpty(v)) throw new QuerySpecException($"group-by column '{column}': value {i + 1} is empty");
                if (!index.TryAdd(v, i)) throw new QuerySpecException($"group-by column '{column}': value '{v}' is listed twice");
            }

            return new ValuesDomain(column, [.. values], index);
        }

        public override string Label(int index) => _values[index];

        public override int? IndexOf(object? key) => KeyText(key) is { } text && _index.TryGetValue(text, out var i) ? i : null;
    }

    private sealed class IntegerBinsDomain : GroupDomain
    {
        private readonly long _from;
        private readonly long _to;
        private readonly long _width;

        private IntegerBinsDomain(string column, long from, long to, long width, long size)
            : base(column, size)
        {
            _from = from;
            _to = to;
            _width = width;
        }

        public static IntegerBinsDomain Create(string column, IntegerBinsRequest bins, long maxSize)
        {
            if (bins.Width <= 0) throw new QuerySpecException($"group-by column '{column}': bin width must be positive, not {bins.Width}");
            if (bins.To <= bins.From) throw new QuerySpecException($"group-by column '{column}': bins need from < to (from {bins.From}, to {bins.To})");
            var size = ((Int128)bins.To - bins.From + bins.Width - 1) / bins.Width;
            if (size > maxSize) throw new QuerySpecException($"group-by column '{column}' has {size} bins, more than the {maxSize} cells allowed");
            return new IntegerBinsDomain(column, bins.From, bins.To, bins.Width, (long)size);
        }

        public override string Label(int index)
        {
            var start = (Int128)_from + (Int128)index * _width;
            var end = Int128.Min(start + _width, _to);
            return string.Create(CultureInfo.InvariantCulture, $"[{start}, {end})");
        }

        public override int? IndexOf(object? key)
        {
            long? value = key switch
            {
                string s when long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed) => parsed,
                string => null,
                _ => SqlIntegers.From(key, 9.2e18),
            };
            if (value is not { } v || v < _from || v >= _to) return null;
            return (int)(((Int128)v - _from) / _width);
        }
    }

    private sealed partial class DateBinsDomain : GroupDomain
    {
        private readonly DateOnly _from;
        private readonly DateOnly _to;
        private readonly string _unit;

        private DateBinsDomain(string column, DateOnly from, DateOnly to, string unit, long size)
            : base(column, size)
        {
            _from = from;
            _to = to;
            _unit = unit;
        }

        public static DateBinsDomain Create(string column, DateBinsRequest bins, long maxSize)
        {
            var from = ParseDate(column, "from", bins.From);
            var to = ParseDate(column, "to", bins.To);
            var unit = bins.Unit?.Trim().ToLowerInvariant();
            if (unit is not ("day" or "month" or "year"))
            {
                throw new QuerySpecException($"group-by column '{column}': date bin unit must be day, month or year, not '{bins.Unit}'");
            }

            if (to <= from) throw new QuerySpecException($"group-by column '{column}': date bins need from < to ({bins.From}, {bins.To})");
            if (unit != "day" && (from.Day != 1 || to.Day != 1 || (unit == "year" && (from.Month != 1 || to.Month != 1))))
            {
                throw new QuerySpecException($"group-by column '{column}': {unit} bins must start and end on the first day of a {unit} ({bins.From}, {bins.To})");
            }

            long size = unit switch
            {
                "day" => to.DayNumber - from.DayNumber,
                "month" => MonthNumber(to) - MonthNumber(from),
                _ => to.Year - from.Year,
            };
            if (size > maxSize) throw new QuerySpecException($"group-by column '{column}' has {size} date bins, more than the {maxSize} cells allowed");
            return new DateBinsDomain(column, from, to, unit, size);
        }

        public override string Label(int index) => _unit switch
        {
            "day" => _from.AddDays(index).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            "month" => _from.AddMonths(index).ToString("yyyy-MM", CultureInfo.InvariantCulture),
            _ => _from.AddYears(index).ToString("yyyy", CultureInfo.InvariantCulture),
        };

        public override int? IndexOf(object? key)
        {
            DateOnly? date = key switch
            {
                DateTime t => DateOnly.FromDateTime(t),

                // The date as written in the value's own offset, as a string key "2024-03-01T23:30:00+05:00" is read.
                DateTimeOffset t => DateOnly.FromDateTime(t.DateTime),
                DateOnly day => day,
                string s when IsoDate().IsMatch(s)
                    && DateOnly.TryParseExact(s.AsSpan(0, 10), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed) => parsed,
                _ => null,
            };
            if (date is not { } d || d < _from || d >= _to) return null;
            return _unit switch
            {
                "day" => d.DayNumber - _from.DayNumber,
                "month" => MonthNumber(d) - MonthNumber(_from),
                _ => d.Year - _from.Year,
            };
        }

        private static int MonthNumber(DateOnly d) => (d.Year * 12) + d.Month - 1;

        private static DateOnly ParseDate(string column, string which, string? text) =>
            DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
                ? date
                : throw new QuerySpecException($"group-by column '{column}': date bins '{which}' must be a date yyyy-MM-dd, not '{text}'");

        // An ISO date, optionally with a time (T or space) and a zone: SQLite's text dates and timestamps.
        [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?\z", RegexOptions.CultureInvariant)]
        private static partial Regex IsoDate();
    }
}
