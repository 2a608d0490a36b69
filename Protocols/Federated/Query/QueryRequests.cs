using Smpc.Contracts;

namespace Smpc.Protocols.Federated.Query;

/// <summary>The rules the service checks a <see cref="QueryRequest"/> against before it becomes a query session's spec.</summary>
public static class QueryRequests
{
    /// <summary>Shortest round timeout a federated session may set.</summary>
    public const int MinRoundTimeoutSeconds = 5;

    /// <summary>Longest round timeout a federated session may set (a day).</summary>
    public const int MaxRoundTimeoutSeconds = 86_400;

    /// <summary>
    /// Why the service refuses <paramref name="query"/> as a query session's spec, or null: the round timeout's bounds and
    /// an output shape that fits the secure-aggregation encoding. Messages name the REST body's fields (<c>query.…</c>).
    /// </summary>
    public static string? SessionProblem(QueryRequest query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.RoundTimeoutSeconds is < MinRoundTimeoutSeconds or > MaxRoundTimeoutSeconds)
            return $"query.roundTimeoutSeconds must be between {MinRoundTimeoutSeconds} and {MaxRoundTimeoutSeconds}.";
        try
        {
            _ = QueryShape.Create(query);
        }
        catch (QuerySpecException ex)
        {
            return $"query: {ex.Message}";
        }

        return null;
    }
}
