namespace Smpc.Protocols.Federated.Query;

/// <summary>SQL dialects a pod's query runs in.</summary>
public enum SqlDialect
{
    Sqlite,
    Postgres,
}
