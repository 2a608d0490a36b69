namespace Smpc.Grains.Storage;

/// <summary>The two databases the service stores state in.</summary>
public enum DatabaseProvider
{
    /// <summary>A SQLite file: embedded mode, one machine, no server.</summary>
    Sqlite = 1,
    /// <summary>PostgreSQL: cluster mode.</summary>
    PostgreSql = 2,
}
