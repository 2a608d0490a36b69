using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Npgsql;
using Smpc.Client.Psi;
using Smpc.Client.Records;

namespace Smpc.Agent.DataSources;

/// <summary>Opens <see cref="IRecordSource"/>s from their configuration (CSV, SQLite, PostgreSQL).</summary>
public static partial class RecordSources
{
    /// <summary>Opens the source (reads the CSV header, or starts the SQL command) so <see cref="IRecordSource.Columns"/> is known.</summary>
    /// <exception cref="InvalidDataException">The configuration is wrong or the source cannot be read; the message says why.</exception>
    public static async Task<IRecordSource> OpenAsync(RecordSourceConfig config, string baseDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(baseDirectory);
        return await (config.Kind?.Trim().ToLowerInvariant() switch
        {
            "csv" => OpenCsvAsync(config, baseDirectory, cancellationToken),
            "sqlite" => OpenSqliteAsync(config, baseDirectory, cancellationToken),
            "postgres" or "postgresql" => OpenPostgresAsync(config, cancellationToken),
            _ => throw new InvalidDataException($"Unknown record source kind '{config.Kind}' (use csv, sqlite or postgres)."),
        }).ConfigureAwait(false);
    }

    /// <summary>Opens the source afresh on each call: what <see cref="PsiModellerRun"/> reads its records (and again the matched rows) from.</summary>
    public static Func<CancellationToken, Task<IRecordSource>> Opener(RecordSourceConfig config, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(baseDirectory);
        return ct => OpenAsync(config, baseDirectory, ct);
    }

    private static Task<IRecordSource> OpenCsvAsync(RecordSourceConfig config, string baseDirectory, CancellationToken cancellationToken)
    {
        Refuse(config.Table is not null || config.Query is not null, "a csv source takes a path, not a table or query");
        Refuse(config.ConnectionString is not null || config.ConnectionStringEnvironmentVariable is not null, "a csv source takes a path, not a connection string");
        var path = RequirePath(config, "csv");
        return CsvRecordSource.OpenAsync(Path.GetFullPath(path, baseDirectory), path, Delimiter(config.Delimiter), cancellationToken);
    }

    private static Task<IRecordSource> OpenSqliteAsync(RecordSourceConfig config, string baseDirectory, CancellationToken cancellationToken)
    {
        Refuse(config.ConnectionString is not null || config.ConnectionStringEnvironmentVariable is not null, "a sqlite source takes the database file as path, not a connection string");
        var path = RequirePath(config, "sqlite");
        var fullPath = Path.GetFullPath(path, baseDirectory);
        var (sql, what) = Command(config, "sqlite");
        if (!File.Exists(fullPath)) throw new InvalidDataException($"sqlite {what} in {path}: the database file '{fullPath}' does not exist.");

        // Pooling off: a pooled connection would keep the file open after the source is disposed.
        var connectionString = new SqliteConnectionStringBuilder { DataSource = fullPath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        return DbRecordSource.OpenAsync(new SqliteConnection(connectionString), sql, $"sqlite {what} in {path}", readOnlyTransaction: false, cancellationToken);
    }

    private static Task<IRecordSource> OpenPostgresAsync(RecordSourceConfig config, CancellationToken cancellationToken)
    {
        Refuse(config.Path is not null, "a postgres source takes a connection string, not a path");
        var (sql, what) = Command(config, "postgres");
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(PostgresConnectionString(config));
        }
        catch (ArgumentException e)
        {
            // The message names the bad keyword, never the connection string.
            throw new InvalidDataException($"postgres {what}: the connection string is not valid: {e.Message}", e);
        }

        // One connection per source, closed on disposal (a pool would keep it open).
        builder.Pooling = false;
        var description = $"postgres {what} (database {builder.Database ?? builder.Username} on {builder.Host ?? "localhost"})";
        return DbRecordSource.OpenAsync(new NpgsqlConnection(builder.ConnectionString), sql, description, readOnlyTransaction: true, cancellationToken);
    }

    private static void Refuse(bool condition, string message)
    {
        if (condition) throw new InvalidDataException($"Record source: {message}.");
    }

    private static string RequirePath(RecordSourceConfig config, string kind) =>
        string.IsNullOrWhiteSpace(config.Path) ? throw new InvalidDataException($"Record source: a {kind} source needs a path.") : config.Path;

    private static char Delimiter(string? delimiter) =>
        delimiter is { Length: 1 } && delimiter[0] is not ('"' or '\r' or '\n')
            ? delimiter[0]
            : throw new InvalidDataException($"Record source: the csv delimiter must be one character other than a quote or line break, not '{delimiter}'.");

    /// <summary>The SELECT to run and how to name it in messages.</summary>
    private static (string Sql, string What) Command(RecordSourceConfig config, string kind)
    {
        var hasTable = !string.IsNullOrWhiteSpace(config.Table);
        var hasQuery = !string.IsNullOrWhiteSpace(config.Query);
        if (hasTable == hasQuery)
        {
            throw new InvalidDataException($"Record source: a {kind} source needs either a table or a query{(hasTable ? ", not both" : "")}.");
        }

        if (hasQuery) return (config.Query!, "query");
        var table = config.Table!.Trim();
        if (!TableName().IsMatch(table))
        {
            throw new InvalidDataException($"Record source: '{table}' is not a table name (letters, digits and '_', optionally 'schema.name').");
        }

        // The pattern admits no quote, so quoting each part is safe; quoted names are case-sensitive.
        return ($"SELECT * FROM {string.Join('.', table.Split('.').Select(part => $"\"{part}\""))}", "table " + table);
    }

    /// <summary>A postgres source's connection string: inline or from its environment variable (exactly one).</summary>
    internal static string PostgresConnectionString(RecordSourceConfig config)
    {
        var inline = !string.IsNullOrWhiteSpace(config.ConnectionString);
        var variable = config.ConnectionStringEnvironmentVariable;
        if (inline && !string.IsNullOrWhiteSpace(variable))
        {
            throw new InvalidDataException("Record source: give a postgres source connectionString or connectionStringEnvironmentVariable, not both.");
        }

        if (inline) return config.ConnectionString!;
        if (string.IsNullOrWhiteSpace(variable))
        {
            throw new InvalidDataException("Record source: a postgres source needs connectionString or connectionStringEnvironmentVariable.");
        }

        var value = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrWhiteSpace(value)
            ? throw new InvalidDataException($"Record source: the environment variable {variable} (the postgres connection string) is not set.")
            : value;
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex TableName();
}
