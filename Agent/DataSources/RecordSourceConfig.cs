namespace Smpc.Agent.DataSources;

/// <summary>Where PSI records come from: a CSV file, a SQLite database or PostgreSQL (table or query). Paths are relative to the configuration's folder.</summary>
public sealed record RecordSourceConfig
{
    /// <summary>"csv", "sqlite" or "postgres".</summary>
    public string Kind { get; init; } = "csv";

    /// <summary>The CSV file, or the SQLite database file.</summary>
    public string? Path { get; init; }

    /// <summary>PostgreSQL: the connection string.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>PostgreSQL: read the connection string from this environment variable instead (keeps passwords out of files).</summary>
    public string? ConnectionStringEnvironmentVariable { get; init; }

    /// <summary>SQLite/PostgreSQL: read every column of this table ("name" or "schema.name").</summary>
    public string? Table { get; init; }

    /// <summary>SQLite/PostgreSQL: or the rows of this SELECT.</summary>
    public string? Query { get; init; }

    /// <summary>CSV: the field delimiter, one character.</summary>
    public string Delimiter { get; init; } = ",";
}
