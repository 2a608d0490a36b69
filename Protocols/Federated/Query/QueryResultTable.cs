using System.Globalization;
using System.Text.Json;

namespace Smpc.Protocols.Federated.Query;

/// <summary>The modeller's result of a federated query: one row per cell, with pooled counts, sums and true pooled means.</summary>
public sealed class QueryResultTable
{
    private QueryResultTable(QueryShape shape, IReadOnlyList<QueryResultRow> rows)
    {
        KeyColumns = shape.KeyColumns;
        Aggregates = shape.Aggregates;
        Rows = rows;
    }

    /// <summary>The group-by columns, in declared order.</summary>
    public IReadOnlyList<string> KeyColumns { get; }

    /// <summary>The aggregates, in declared order (the order of <see cref="QueryResultRow.Values"/>).</summary>
    public IReadOnlyList<QueryAggregate> Aggregates { get; }

    /// <summary>One row per cell, in cell order.</summary>
    public IReadOnlyList<QueryResultRow> Rows { get; }

    /// <summary>The CSV header: the group-by columns, the aggregates, then withheld and suppressed_on.</summary>
    public IReadOnlyList<string> Header => [.. KeyColumns, .. Aggregates.Select(a => a.Name), "withheld", "suppressed_on"];

    /// <summary>
    /// Builds the table from the release, the count round's decoded sums (field name → per cell) and the value round's
    /// (aggregate name → per released cell; null when no value round ran).
    /// </summary>
    /// <exception cref="InvalidDataException">A round's sums are missing or do not have the shape's lengths.</exception>
    public static QueryResultTable Build(
        QueryShape shape, QueryRelease release, IReadOnlyDictionary<string, double[]> allCountSums, IReadOnlyDictionary<string, double[]>? valueRoundSums)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(release);
        ArgumentNullException.ThrowIfNull(allCountSums);
        if (release.PooledCounts.Length != shape.CellCount || release.SuppressedOn.Length != shape.CellCount)
        {
            throw new InvalidDataException($"the release does not have the query's {shape.CellCount} cells");
        }

        var counts = shape.CountAggregates.ToDictionary(a => a.Name, a => QueryRelease.Integers(shape, allCountSums, a.Name, shape.Query.MaxRowsPerCell));
        var releasedAt = new int[shape.CellCount];
        Array.Fill(releasedAt, -1);
        for (var i = 0; i < release.ReleasedCells.Length; i++) releasedAt[release.ReleasedCells[i]] = i;

        var sums = new Dictionary<string, double[]>();
        if (release.ReleasedCells.Length > 0)
        {
            foreach (var a in shape.ValueAggregates)
            {
                if (valueRoundSums is null || !valueRoundSums.TryGetValue(a.Name, out var values) || values is null)
                {
                    throw new InvalidDataException($"the value round has no field '{a.Name}'");
                }

                if (values.Length != release.ReleasedCells.Length)
                {
                    throw new InvalidDataException($"value-round field '{a.Name}' has {values.Length} cells, not the {release.ReleasedCells.Length} released");
                }

                sums[a.Name] = values;
            }
        }

        var rows = new QueryResultRow[shape.CellCount];
        for (var cell = 0; cell < shape.CellCount; cell++)
        {
            var at = releasedAt[cell];
            var values = new double?[shape.Aggregates.Count];
            for (var i = 0; i < values.Length; i++)
            {
                var a = shape.Aggregates[i];
                values[i] = a.Kind switch
                {
                    QueryAggregateKind.Count => counts[a.Name][cell],
                    _ when at < 0 => null,
                    QueryAggregateKind.Sum => sums[a.Name][at],
                    _ => counts[a.CountColumn!][cell] is > 0 and var n ? sums[a.Name][at] / n : null,
                };
            }

            rows[cell] = new QueryResultRow(cell, shape.CellLabels(cell), values, at < 0, release.SuppressedOn[cell]);
        }

        return new QueryResultTable(shape, rows);
    }

    /// <summary>The rows as CSV text fields (invariant culture; empty for null), in <see cref="Header"/> order.</summary>
    public IEnumerable<string[]> TextRows() => Rows.Select(r => (string[])
    [
        .. r.Keys,
        .. r.Values.Select((v, i) => Format(Aggregates[i], v)),
        r.Withheld ? "true" : "false",
        r.SuppressedOn.ToString(CultureInfo.InvariantCulture),
    ]);

    /// <summary>Writes the table as CSV (RFC 4180 quoting, "\n" line ends, invariant culture, empty for null).</summary>
    public void WriteCsv(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        WriteCsvLine(writer, Header);
        foreach (var row in TextRows()) WriteCsvLine(writer, row);
        writer.Flush();
    }

    /// <summary>Writes the table as JSON: <c>{"keyColumns", "aggregates", "rows": [{"keys", "values", "withheld", "suppressedOn"}]}</c>.</summary>
    public void WriteJson(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteStartArray("keyColumns");
        foreach (var k in KeyColumns) json.WriteStringValue(k);
        json.WriteEndArray();
        json.WriteStartArray("aggregates");
        foreach (var a in Aggregates)
        {
            json.WriteStartObject();
            json.WriteString("name", a.Name);
            json.WriteString("kind", a.Kind.ToString().ToLowerInvariant());
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("rows");
        foreach (var row in Rows)
        {
            json.WriteStartObject();
            json.WriteStartObject("keys");
            for (var k = 0; k < KeyColumns.Count; k++) json.WriteString(KeyColumns[k], row.Keys[k]);
            json.WriteEndObject();
            json.WriteStartObject("values");
            for (var i = 0; i < Aggregates.Count; i++)
            {
                json.WritePropertyName(Aggregates[i].Name);
                if (row.Values[i] is not { } v) json.WriteNullValue();
                else if (Aggregates[i].Kind == QueryAggregateKind.Count) json.WriteNumberValue((long)v);
                else json.WriteNumberValue(v);
            }

            json.WriteEndObject();
            json.WriteBoolean("withheld", row.Withheld);
            json.WriteNumber("suppressedOn", row.SuppressedOn);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static string Format(QueryAggregate a, double? value) => value switch
    {
        null => string.Empty,
        { } v when a.Kind == QueryAggregateKind.Count => ((long)v).ToString(CultureInfo.InvariantCulture),
        { } v => v.ToString("R", CultureInfo.InvariantCulture),
    };

    private static void WriteCsvLine(TextWriter writer, IReadOnlyList<string> fields)
    {
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0) writer.Write(',');
            var f = fields[i];
            if (f.AsSpan().IndexOfAny(",\"\r\n") >= 0) writer.Write("\"" + f.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"");
            else writer.Write(f);
        }

        writer.Write('\n');
    }
}
