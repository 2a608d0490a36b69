using System.Collections;
using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Runtime.CompilerServices;
using Smpc.Client.Records;

namespace Smpc.Agent.DataSources;

/// <summary>
/// The rows of one SQL command on a connection of its own (SQLite or PostgreSQL), streamed through a data reader that
/// is opened by <see cref="OpenAsync"/> so the columns are known; disposal closes the reader and the connection.
/// </summary>
internal sealed class DbRecordSource : IRecordSource
{
    private readonly DbConnection _connection;
    private readonly DbTransaction? _transaction;
    private readonly DbCommand _command;
    private readonly DbDataReader _reader;
    private readonly string _description;
    private int _started;
    private bool _finished;

    private DbRecordSource(DbConnection connection, DbTransaction? transaction, DbCommand command, DbDataReader reader, string description)
    {
        _connection = connection;
        _transaction = transaction;
        _command = command;
        _reader = reader;
        _description = description;
        Columns = [.. Enumerable.Range(0, reader.FieldCount).Select(reader.GetName)];
    }

    public IReadOnlyList<string> Columns { get; }

    /// <summary>
    /// Opens <paramref name="connection"/> (owned from here on) and starts <paramref name="sql"/>; with
    /// <paramref name="readOnlyTransaction"/> inside a READ ONLY transaction, so a configured query cannot change data.
    /// </summary>
    public static async Task<IRecordSource> OpenAsync(DbConnection connection, string sql, string description, bool readOnlyTransaction, CancellationToken cancellationToken)
    {
        DbTransaction? transaction = null;
        DbCommand? command = null;
        DbDataReader? reader = null;
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            if (readOnlyTransaction)
            {
                transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using var readOnly = connection.CreateCommand();
                readOnly.Transaction = transaction;
                readOnly.CommandText = "SET TRANSACTION READ ONLY";
                await readOnly.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;

            // Reading millions of rows may take a while after the first; cancellation comes from the token instead.
            command.CommandTimeout = 0;
            reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
            if (reader.FieldCount == 0) throw new InvalidDataException($"{description}: the query returns no columns.");
            return new DbRecordSource(connection, transaction, command, reader, description);
        }
        catch (Exception e)
        {
            await DisposeAllAsync(reader, command, transaction, connection).ConfigureAwait(false);
            if (e is DbException) throw new InvalidDataException($"{description}: {e.Message}", e);
            throw;
        }
    }

    public async IAsyncEnumerable<string?[]> ReadRowsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException($"{_description}: the rows of a record source can be read once.");
        var count = Columns.Count;
        while (await _reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var row = new string?[count];
            for (var i = 0; i < count; i++)
            {
                row[i] = await _reader.IsDBNullAsync(i, cancellationToken).ConfigureAwait(false) ? null : ToText(_reader, i);
            }

            yield return row;
        }

        _finished = true;
    }

    public string Describe() => _description;

    public async ValueTask DisposeAsync()
    {
        if (!_finished)
        {
            // Disposing a reader drains the rows it has not returned (Npgsql reads them all); cancel the query instead.
            try
            {
                _command.Cancel();
                await _reader.DisposeAsync().ConfigureAwait(false);
            }
            catch (DbException)
            {
                // The cancelled query's error: expected, the rows are being abandoned.
            }
        }

        await DisposeAllAsync(_reader, _command, _transaction, _connection).ConfigureAwait(false);
    }

    /// <summary>An SQL value as invariant text: what a CSV export of the same table would hold.</summary>
    private string ToText(DbDataReader reader, int column)
    {
        var value = reader.GetValue(column);
        return value switch
        {
            string s => s,
            bool b => b ? "true" : "false",
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            float f => f.ToString("R", CultureInfo.InvariantCulture),
            decimal m => m.ToString(CultureInfo.InvariantCulture),

            // PostgreSQL 'date' arrives as a midnight DateTime; a date is written as one.
            DateTime t when string.Equals(reader.GetDataTypeName(column), "date", StringComparison.OrdinalIgnoreCase) => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            DateTime t => t.ToString("O", CultureInfo.InvariantCulture),
            DateTimeOffset t => t.ToString("O", CultureInfo.InvariantCulture),
            DateOnly t => t.ToString("O", CultureInfo.InvariantCulture),
            TimeOnly t => t.ToString("O", CultureInfo.InvariantCulture),
            TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
            byte[] bytes => Convert.ToBase64String(bytes),
            char c => c.ToString(),
            IEnumerable => throw new InvalidDataException(
                $"{_description}: column '{Columns[column]}' has type {reader.GetDataTypeName(column)}, which has no single text value; select it as text in a query."),
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? string.Empty,
        };
    }

    private static async ValueTask DisposeAllAsync(DbDataReader? reader, DbCommand? command, DbTransaction? transaction, DbConnection connection)
    {
        try
        {
            if (reader is not null) await reader.DisposeAsync().ConfigureAwait(false);
            if (command is not null) await command.DisposeAsync().ConfigureAwait(false);
            if (transaction is not null) await transaction.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
