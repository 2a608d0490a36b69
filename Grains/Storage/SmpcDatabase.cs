using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Smpc.Grains.Storage;

/// <summary>The service database (grain state, payload chunks, and in cluster mode membership and reminders).</summary>
public sealed class SmpcDatabase
{
    /// <summary>Grain storage provider name used by every grain.</summary>
    public const string GrainStorageName = "smpc";

    /// <summary>ADO.NET invariant Orleans uses for PostgreSQL.</summary>
    public const string PostgreSqlInvariant = "Npgsql";

    /// <summary>ADO.NET invariant Orleans maps to Microsoft.Data.Sqlite.</summary>
    public const string SqliteInvariant = "System.Data.SQLite";


    public SmpcDatabase(DatabaseProvider provider, string connectionString, string serviceId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceId);
        Provider = provider;
        ConnectionString = connectionString;
        ServiceId = serviceId;
    }

    /// <summary>Which database this is.</summary>
    public DatabaseProvider Provider { get; }

    /// <summary>The connection string (also handed to the Orleans ADO.NET providers).</summary>
    public string ConnectionString { get; }

    /// <summary>The Orleans service id; grain state and chunks are keyed by it.</summary>
    public string ServiceId { get; }

    /// <summary>The ADO.NET invariant the Orleans providers use for this database.</summary>
    public string Invariant => Provider == DatabaseProvider.PostgreSql ? PostgreSqlInvariant : SqliteInvariant;

    /// <summary>
    /// How long a SQLite command waits for a lock held by another connection before it fails (and the request gets 503
    /// storage-unavailable): long enough for any one write of this service, far below Orleans' 30-s call timeout, so a
    /// database held locked by something else is reported as a storage failure, not as an unreachable cluster.
    /// </summary>
    public const int SqliteBusyTimeoutSeconds = 5;

    /// <summary>Free bytes an embedded (SQLite) data volume needs for the node to report ready: room for a few 4-MiB payload chunks.</summary>
    public const long MinFreeDiskBytes = 32L * 1024 * 1024;

    /// <summary>Free bytes on the volume of a SQLite database file, or null (PostgreSQL, or the volume cannot be read).</summary>
    public long? FreeDiskBytes()
    {
        if (Provider != DatabaseProvider.Sqlite) return null;
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(new SqliteConnectionStringBuilder(ConnectionString).DataSource));
            return directory is null ? null : new DriveInfo(directory).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>A SQLite connection string for a data file, with a busy timeout suited to concurrent writers.</summary>
    public static string SqliteConnectionString(string path) =>
        new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = SqliteBusyTimeoutSeconds }.ToString();

    /// <summary>Opens a connection.</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        // PostgreSQL: the same connection string, hence the same Npgsql pool, as the Orleans providers use: one pool per
        // silo, so `Maximum Pool Size` is the silo's whole budget of connections (docs/operations.md).
        DbConnection connection = Provider == DatabaseProvider.PostgreSql ? new NpgsqlConnection(ConnectionString) : new SqliteConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    /// <summary>
    /// After a connection-level failure (e.g. PostgreSQL restarted), drops the idle pooled connections, which are all broken
    /// now, so the next calls open fresh ones instead of failing one stale connection at a time. Other errors are ignored.
    /// </summary>
    public void ResetAfterFailure(Exception failure)
    {
        if (Provider != DatabaseProvider.PostgreSql || !IsConnectionFailure(failure)) return;
        NpgsqlConnection.ClearAllPools();
    }

    private static bool IsConnectionFailure(Exception? failure)
    {
        for (var e = failure; e is not null; e = e.InnerException)
            if (e is NpgsqlException { IsTransient: true } or System.Net.Sockets.SocketException or IOException) return true;
        return false;
    }

    /// <summary>Adds a named parameter (the same <c>@name</c> syntax works on both databases).</summary>
    public static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
