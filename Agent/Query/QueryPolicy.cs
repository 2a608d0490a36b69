using Smpc.Protocols.Federated.Query;

namespace Smpc.Agent.Query;

/// <summary>
/// What a pod agrees to answer in federated SQL, enforced by its agent before any result leaves the pod. Read from JSON
/// with the web defaults (camelCase names).
/// </summary>
public sealed record QueryPolicy
{
    /// <summary>Modellers allowed to query this pod (empty: every modeller of the tenant).</summary>
    public List<string> Modellers { get; init; } = [];

    /// <summary>
    /// Tables (or views) a query may read, each with the columns it may read ("*": every column). Empty: no table may be
    /// queried. Names match ignoring case; on PostgreSQL a bare name means the <c>public</c> schema, "schema.name" any other.
    /// </summary>
    public Dictionary<string, List<string>> Tables { get; init; } = [];

    /// <summary>A cell this pod has fewer rows in (but at least one) is suppressed: it contributes zero and is reported as suppressed.</summary>
    public long MinRowsPerGroup { get; init; }

    /// <summary>Longest a query may run on this pod's database, in seconds.</summary>
    public double TimeLimitSeconds { get; init; } = 60;

    /// <summary>Most cells (product of the group-by domains) a query may declare.</summary>
    public int MaxCells { get; init; } = 100_000;

    /// <summary>Refuses a modeller the policy does not list (an empty list allows all).</summary>
    /// <exception cref="QueryRefusedException">The modeller is not allowed.</exception>
    public void CheckModeller(string modellerId)
    {
        ArgumentNullException.ThrowIfNull(modellerId);
        if (Modellers is { Count: > 0 } && !Modellers.Contains(modellerId, StringComparer.Ordinal))
        {
            throw new QueryRefusedException($"modeller '{modellerId}' may not query this pod");
        }
    }

    /// <summary>The allowed columns of <paramref name="table"/> (matched ignoring case), or null when the table is not allowed.</summary>
    internal IReadOnlyList<string>? ColumnsOf(string table)
    {
        if (Tables is null) return null;
        foreach (var (name, columns) in Tables)
        {
            if (string.Equals(name, table, StringComparison.OrdinalIgnoreCase)) return columns ?? [];
        }

        return null;
    }

    /// <summary>True when <paramref name="column"/> of an allowed table may be read.</summary>
    internal static bool AllowsColumn(IReadOnlyList<string> allowed, string column) =>
        allowed.Any(c => c == "*" || string.Equals(c, column, StringComparison.OrdinalIgnoreCase));
}
