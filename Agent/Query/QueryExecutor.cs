using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;
using SQLitePCL;
using Smpc.Agent.DataSources;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Query;

namespace Smpc.Agent.Query;

/// <summary>
/// Runs a federated query on a pod's own source under its <see cref="QueryPolicy"/> and turns the result into the
/// pod's vectors for the count and value rounds. Every policy refusal is a <see cref="QueryRefusedException"/>.
/// </summary>
/// <remarks>
/// 1. The text must be one SELECT (or WITH … SELECT) statement.
/// 2. SQLite (a file opened read-only, or a CSV file loaded into an in-memory table named after the source): an
///    authorizer allows only SELECT, reading allowed table.columns and calling functions (not load_extension); anything
///    else — writes, PRAGMA, ATTACH, recursive CTEs, other tables or columns — refuses the query. Its EXPLAIN program must
///    aggregate (AggStep/AggFinal/AggValue, or the Count of <c>SELECT count(*)</c>). A progress handler stops it at the time limit.
/// 3. PostgreSQL: a READ ONLY transaction with <c>SET LOCAL statement_timeout</c>; <c>EXPLAIN (VERBOSE, FORMAT JSON)</c>
///    must show an Aggregate node and read only allowed relations (a view by the tables its plan reads, as in SQLite).
///    Column-level rules are left to the database's own grants (there is no authorizer hook): a table whose policy lists
///    columns rather than "*" is refused, so a policy never seems to restrict columns it cannot. What functions read is
///    not visible in a plan either: the agent's database role should be granted SELECT on exactly what it may read.
/// 4. Each result row is mapped to its cell (a key outside the domain refuses); rows sharing a cell add up (counts,
///    sums, and mean · count for a mean); every cell is checked against maxRowsPerCell and the declared bounds (never
///    clipped); cells with 0 &lt; count &lt; MinRowsPerGroup are suppressed (zeros, flagged).
/// A policy can only check what SQL reads, not that the count column counts rows: the modeller is trusted to send the
/// query it declared, and a pod operator may review the SQL before allowing a modeller.
/// </remarks>
public static class QueryExecutor
{
    private const double MaxTimeLimitSeconds = 86_400;

    private static readonly HashSet<string> AggregateOpcodes = new(StringComparer.Ordinal) { "AggStep", "AggStep1", "AggFinal", "AggValue", "AggInverse", "Count" };

    /// <summary>Runs <paramref name="query"/> on the pod's source <paramref name="sourceName"/> and returns its per-cell contribution.</summary>
    /// <exception cref="QueryRefusedException">The policy refuses the query, or the data does not fit the declared shape.</exception>
    /// <exception cref="InvalidDataException">The source's configuration is wrong or it cannot be read.</exception>
    public static async Task<PodQueryResult> RunAsync(
        QueryShape shape, QueryRequest query, string sourceName, RecordSourceConfig source, QueryPolicy policy, string baseDirectory, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(sourceName);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(baseDirectory);

        if (shape.CellCount > policy.MaxCells)
        {
            throw new QueryRefusedException($"the query declares {shape.CellCount} cells; this pod's policy allows at most {policy.MaxCells}");
        }

        if (policy.Tables is not { Count: > 0 }) throw new QueryRefusedException("this pod's policy allows no table to be queried");
        if (!(policy.TimeLimitSeconds > 0 && policy.TimeLimitSeconds <= MaxTimeLimitSeconds))
        {
            throw new InvalidDataException($"Pod query policy: timeLimitSeconds must be positive and at most {MaxTimeLimitSeconds} (a day).");
        }

        var limit = TimeSpan.FromSeconds(policy.TimeLimitSeconds);
        var accumulator = new QueryAccumulator(shape);
        switch (source.Kind?.Trim().ToLowerInvariant())
        {
            case "csv":
                if (!IsIdentifier(sourceName))
                {
                    throw new InvalidDataException($"Record source '{sourceName}': a csv source is queried as a table of that name, so the name must be an identifier.");
                }

                var statement = SqlStatement.Single(query.Sql, SqlDialect.Sqlite);
                await using (var memory = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = ":memory:", Pooling = false }.ToString()))
                {
                    await memory.OpenAsync(ct).ConfigureAwait(false);
                    await CsvTableLoader.LoadAsync(memory, sourceName, source, baseDirectory, ct).ConfigureAwait(false);
                    await Task.Run(() => RunSqlite(memory, statement, policy, limit, accumulator, ct), ct).ConfigureAwait(false);
                }

                break;

            case "sqlite":
                if (string.IsNullOrWhiteSpace(source.Path)) throw new InvalidDataException("Record source: a sqlite source needs a path.");
                var fullPath = Path.GetFullPath(source.Path, baseDirectory);
                if (!File.Exists(fullPath)) throw new InvalidDataException($"sqlite {source.Path}: the database file '{fullPath}' does not exist.");
                var sqliteStatement = SqlStatement.Single(query.Sql, SqlDialect.Sqlite);

                // Pooling off: a pooled connection would keep the file open after the query.
                await using (var file = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = fullPath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString()))
                {
                    await file.OpenAsync(ct).ConfigureAwait(false);
                    await Task.Run(() => RunSqlite(file, sqliteStatement, policy, limit, accumulator, ct), ct).ConfigureAwait(false);
                }

                break;

            case "postgres" or "postgresql":
                await RunPostgresAsync(source, SqlStatement.Single(query.Sql, SqlDialect.Postgres), policy, limit, accumulator, ct).ConfigureAwait(false);
                break;

            default:
                throw new InvalidDataException($"Unknown record source kind '{source.Kind}' (use csv, sqlite or postgres).");
        }

        return accumulator.Finish(policy.MinRowsPerGroup);
    }

    private static void RunSqlite(SqliteConnection connection, string statement, QueryPolicy policy, TimeSpan limit, QueryAccumulator accumulator, CancellationToken ct)
    {
        var guard = new SqliteGuard(policy);
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        var timedOut = false;
        var running = false;
        raw.sqlite3_set_authorizer(connection.Handle, guard.Authorize, null);
        raw.sqlite3_progress_handler(connection.Handle, 1000, _ =>
        {
            if (ct.IsCancellationRequested) return 1;
            if (Stopwatch.GetTimestamp() <= deadline) return 0;
            timedOut = true;
            return 1;
        }, null);
        try
        {
            using (var explain = connection.CreateCommand())
            {
                explain.CommandText = "EXPLAIN " + statement;
                using var program = explain.ExecuteReader();
                var opcode = program.GetOrdinal("opcode");
                var aggregates = false;
                while (program.Read()) aggregates |= AggregateOpcodes.Contains(program.GetString(opcode));
                if (!aggregates) throw NotAggregate();
            }

            running = true;
            using var command = connection.CreateCommand();
            command.CommandText = statement;
            using var reader = command.ExecuteReader();
            accumulator.Bind([.. Enumerable.Range(0, reader.FieldCount).Select(reader.GetName)]);
            var row = new object?[reader.FieldCount];
            while (reader.Read())
            {
                for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                accumulator.Add(row);
            }
        }
        catch (SqliteException e)
        {
            ct.ThrowIfCancellationRequested();
            if (guard.Denial is { } denial) throw new QueryRefusedException(denial, denial, e);
            if (timedOut || e.SqliteErrorCode == raw.SQLITE_INTERRUPT) throw TimeLimit(limit, e);

            // Compiling the query reads no data, so its errors (syntax, unknown names) are safe to share; a runtime error might quote a value.
            throw running
                ? Failed(string.Create(CultureInfo.InvariantCulture, $"SQLite error {e.SqliteErrorCode} while running it"), e.Message, e)
                : Failed(e.Message, e.Message, e);
        }
        finally
        {
            raw.sqlite3_progress_handler(connection.Handle, 0, null, null);
            raw.sqlite3_set_authorizer(connection.Handle, (strdelegate_authorizer?)null, null);
        }
    }

    private static async Task RunPostgresAsync(RecordSourceConfig config, string statement, QueryPolicy policy, TimeSpan limit, QueryAccumulator accumulator, CancellationToken ct)
    {
        if (config.Path is not null) throw new InvalidDataException("Record source: a postgres source takes a connection string, not a path.");
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(PostgresConnectionString(config)) { Pooling = false };
        }
        catch (ArgumentException e)
        {
            // The message names the bad keyword, never the connection string.
            throw new InvalidDataException($"postgres source: the connection string is not valid: {e.Message}", e);
        }

        var description = $"postgres (database {builder.Database ?? builder.Username} on {builder.Host ?? "localhost"})";
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(ct).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            var milliseconds = Math.Max(1, (long)Math.Ceiling(limit.TotalMilliseconds));
            await using (var setup = new NpgsqlCommand(
                string.Create(CultureInfo.InvariantCulture, $"SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {milliseconds}"), connection, transaction))
            {
                await setup.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            // A batch command is sent as one statement: PostgreSQL itself refuses a second one hidden in the text.
            string plan;
            await using (var explain = new NpgsqlBatch(connection, transaction) { BatchCommands = { new NpgsqlBatchCommand("EXPLAIN (VERBOSE, FORMAT JSON) " + statement) } })
            {
                plan = Convert.ToString(await explain.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture) ?? "[]";
            }

            CheckPlan(plan, policy);
            await using var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { new NpgsqlBatchCommand(statement) } };
            await using var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
            accumulator.Bind([.. Enumerable.Range(0, reader.FieldCount).Select(reader.GetName)]);
            var row = new object?[reader.FieldCount];
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                for (var i = 0; i < row.Length; i++)
                {
                    try
                    {
                        row[i] = await reader.IsDBNullAsync(i, ct).ConfigureAwait(false) ? null : reader.GetValue(i);
                    }
                    catch (Exception e) when (e is InvalidCastException or OverflowException)
                    {
                        throw new QueryRefusedException($"result column {reader.GetName(i)} has a value of type {reader.GetDataTypeName(i)} that cannot be read", $"result column {reader.GetName(i)} has a value of type {reader.GetDataTypeName(i)} that cannot be read: {e.Message}", e);
                    }
                }

                accumulator.Add(row);
            }
        }
        catch (PostgresException e)
        {
            ct.ThrowIfCancellationRequested();
            throw e.SqlState switch
            {
                PostgresErrorCodes.QueryCanceled => TimeLimit(limit, e),
                PostgresErrorCodes.ReadOnlySqlTransaction => new QueryRefusedException("the query tries to change data; this pod only runs read-only queries", "the query tries to change data; this pod only runs read-only queries", e),
                // Class 42 (syntax error or access rule violation) names the query's own text, never data; other errors might quote a value.
                _ when e.SqlState.StartsWith("42", StringComparison.Ordinal) => Failed(e.MessageText, e.MessageText, e),
                _ => Failed($"PostgreSQL error {e.SqlState}", e.MessageText, e),
            };
        }
        catch (NpgsqlException e) when (!ct.IsCancellationRequested)
        {
            throw new InvalidDataException($"{description}: {e.Message}", e);
        }
    }

    /// <summary>Refuses a plan that does not aggregate, writes, or reads a relation the policy does not allow.</summary>
    private static void CheckPlan(string json, QueryPolicy policy)
    {
        using var document = JsonDocument.Parse(json);
        var aggregates = false;
        var relations = new List<(string Schema, string Name)>();
        void Walk(JsonElement node)
        {
            if (node.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in node.EnumerateArray()) Walk(item);
                return;
            }

            if (node.ValueKind != JsonValueKind.Object) return;
            if (node.TryGetProperty("Node Type", out var type))
            {
                var nodeType = type.GetString();
                aggregates |= nodeType == "Aggregate";
                if (nodeType == "ModifyTable") throw new QueryRefusedException("the query tries to change data; this pod only runs read-only queries");
            }

            if (node.TryGetProperty("Relation Name", out var relation))
            {
                var schema = node.TryGetProperty("Schema", out var s) ? s.GetString() ?? "public" : "public";
                relations.Add((schema, relation.GetString() ?? string.Empty));
            }

            foreach (var property in node.EnumerateObject())
            {
                if (property.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array) Walk(property.Value);
            }
        }

        Walk(document.RootElement);
        foreach (var (schema, name) in relations.Distinct())
        {
            var qualified = $"{schema}.{name}";
            var columns = policy.ColumnsOf(qualified) ?? (schema == "public" ? policy.ColumnsOf(name) : null);
            if (columns is null) throw new QueryRefusedException($"the query reads table {qualified}, which this pod's policy does not allow");
            if (!columns.Contains("*"))
            {
                throw new QueryRefusedException(
                    $"this pod's policy limits the columns of table {qualified}, which cannot be checked on PostgreSQL; allow \"*\" and restrict columns with database grants");
            }
        }

        if (!aggregates) throw NotAggregate();
    }

    private static string PostgresConnectionString(RecordSourceConfig config) => RecordSources.PostgresConnectionString(config);

    private static bool IsIdentifier(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static QueryRefusedException NotAggregate() =>
        new("the query is not an aggregate query (it must compute COUNT/SUM/AVG-style aggregates, e.g. with GROUP BY); row-level results are refused");

    private static QueryRefusedException TimeLimit(TimeSpan limit, Exception inner)
    {
        var reason = string.Create(CultureInfo.InvariantCulture, $"the query exceeded this pod's time limit of {limit.TotalSeconds:0.###} s");
        return new QueryRefusedException(reason, reason, inner);
    }

    private static QueryRefusedException Failed(string shareable, string detail, Exception inner) =>
        new($"the query failed on this pod's database: {shareable}", $"the query failed on this pod's database: {detail}", inner);

    /// <summary>SQLite authorizer: SELECT, reads of allowed table.columns and functions; the first denial is kept for the refusal.</summary>
    private sealed class SqliteGuard(QueryPolicy policy)
    {
        public string? Denial { get; private set; }

        public int Authorize(object userData, int action, string? p0, string? p1, string? database, string? view)
        {
            switch (action)
            {
                case raw.SQLITE_SELECT:
                    return raw.SQLITE_OK;

                case raw.SQLITE_FUNCTION when !string.Equals(p1, "load_extension", StringComparison.OrdinalIgnoreCase):
                    return raw.SQLITE_OK;

                case raw.SQLITE_READ:
                    var table = p0 ?? string.Empty;
                    var column = p1 ?? string.Empty;

                    // An empty column: the table is used but none of its columns read (count(*)); SQLite names no database then.
                    // Otherwise only the main database: nothing else can be attached or created. A view is judged by what it reads.
                    if (policy.ColumnsOf(table) is { } allowed && (column.Length == 0 || string.Equals(database, "main", StringComparison.Ordinal)))
                    {
                        if (column.Length == 0 || QueryPolicy.AllowsColumn(allowed, column)) return raw.SQLITE_OK;
                        return Deny($"the query reads column {table}.{column}, which this pod's policy does not allow");
                    }

                    return Deny($"the query reads table {table}, which this pod's policy does not allow");

                case raw.SQLITE_RECURSIVE:
                    // SQLite reports the recursive table's own name as a read first: this is the better reason.
                    Denial = "the query uses a recursive common table expression, which this pod does not run";
                    return raw.SQLITE_DENY;

                case raw.SQLITE_FUNCTION:
                    return Deny($"the query calls {p1}, which this pod does not allow");

                default:
                    return Deny($"the query is not a plain SELECT (it needs SQLite permission for action {ActionName(action)})");
            }
        }

        private int Deny(string reason)
        {
            Denial ??= reason;
            return raw.SQLITE_DENY;
        }

        private static string ActionName(int action) => action switch
        {
            raw.SQLITE_INSERT => "INSERT",
            raw.SQLITE_UPDATE => "UPDATE",
            raw.SQLITE_DELETE => "DELETE",
            raw.SQLITE_PRAGMA => "PRAGMA",
            raw.SQLITE_ATTACH => "ATTACH",
            raw.SQLITE_DETACH => "DETACH",
            raw.SQLITE_TRANSACTION => "TRANSACTION",
            raw.SQLITE_SAVEPOINT => "SAVEPOINT",
            raw.SQLITE_CREATE_TABLE or raw.SQLITE_CREATE_TEMP_TABLE => "CREATE TABLE",
            raw.SQLITE_CREATE_VIEW or raw.SQLITE_CREATE_TEMP_VIEW => "CREATE VIEW",
            raw.SQLITE_DROP_TABLE or raw.SQLITE_DROP_TEMP_TABLE => "DROP TABLE",
            _ => action.ToString(CultureInfo.InvariantCulture),
        };
    }
}
