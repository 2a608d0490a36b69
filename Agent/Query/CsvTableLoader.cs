using System.Globalization;
using Microsoft.Data.Sqlite;
using Smpc.Agent.DataSources;

namespace Smpc.Agent.Query;

/// <summary>
/// Loads a CSV file (header row, RFC 4180) into a table of an in-memory SQLite database so a query runs on it as on a
/// SQLite source. A column is INTEGER when every non-empty value is a 64-bit integer, REAL when every one is a number,
/// otherwise TEXT; an empty field is NULL.
/// </summary>
internal static class CsvTableLoader
{
    private enum ColumnType { Integer, Real, Text }

    /// <exception cref="InvalidDataException">The file cannot be read or its header is unusable.</exception>
    public static async Task LoadAsync(SqliteConnection connection, string table, RecordSourceConfig config, string baseDirectory, CancellationToken cancellationToken)
    {
        List<string?[]> rows = [];
        IReadOnlyList<string> columns;
        string description;
        await using (var source = await RecordSources.OpenAsync(config, baseDirectory, cancellationToken).ConfigureAwait(false))
        {
            columns = source.Columns;
            description = source.Describe();
            await foreach (var row in source.ReadRowsAsync(cancellationToken).ConfigureAwait(false)) rows.Add(row);
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var column in columns)
        {
            if (column.Length == 0) throw new InvalidDataException($"{description}: the header has an empty column name.");
            if (!seen.Add(column)) throw new InvalidDataException($"{description}: the header names column '{column}' twice (names are compared ignoring case).");
        }

        var types = new ColumnType[columns.Count];
        foreach (var row in rows)
        {
            for (var c = 0; c < types.Length; c++)
            {
                var value = row[c];
                if (string.IsNullOrEmpty(value) || types[c] == ColumnType.Text) continue;
                if (types[c] == ColumnType.Integer && IsInteger(value)) continue;
                types[c] = IsReal(value) ? ColumnType.Real : ColumnType.Text;
            }
        }

        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var create = connection.CreateCommand())
        {
            create.Transaction = transaction;
            create.CommandText = $"CREATE TABLE {Quote(table)} ({string.Join(", ", columns.Select((c, i) => $"{Quote(c)} {types[i].ToString().ToUpperInvariant()}"))})";
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = $"INSERT INTO {Quote(table)} VALUES ({string.Join(", ", columns.Select((_, i) => "$p" + i.ToString(CultureInfo.InvariantCulture)))})";
        var parameters = columns.Select((_, i) => insert.Parameters.Add(new SqliteParameter("$p" + i.ToString(CultureInfo.InvariantCulture), null))).ToArray();
        insert.Prepare();
        foreach (var row in rows)
        {
            for (var c = 0; c < parameters.Length; c++)
            {
                var value = row[c];
                parameters[c].Value = string.IsNullOrEmpty(value)
                    ? DBNull.Value
                    : types[c] switch
                    {
                        ColumnType.Integer => long.Parse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
                        ColumnType.Real => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
                        _ => value,
                    };
            }

            insert.ExecuteNonQuery();
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static bool IsInteger(string value) => long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);

    private static bool IsReal(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d);
}
