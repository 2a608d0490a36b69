using Smpc.Client.Contracts;
using Smpc.Client.Federated;
using Smpc.Client.FederatedQuery;

namespace Smpc.Client.Agent;

/// <summary>
/// A pod's part in a federated SQL query: runs the query once on its own source under its policy (read-only, time-limited,
/// allowed tables and columns, minimum rows per group), then contributes the counts round and, once the modeller has
/// released the pooled counts, the values of the released cells only.
/// </summary>
internal sealed class QueryParticipant(PodAgentConfig config, string baseDirectory, Action<string> log) : IFederatedParticipant
{
    private QueryRequest? _query;
    private QueryShape? _shape;
    private PodQueryResult? _result;

    public async Task<string?> PrepareAsync(SessionResponse session, CancellationToken ct)
    {
        if (session.Federated?.Query is not { } query) return "not a query session";
        var policy = config.Query;
        if (policy.Modellers.Count > 0 && !policy.Modellers.Contains(session.ModellerId)) return $"modeller {session.ModellerId} may not query this pod";
        if (!config.Sources.TryGetValue(query.Source, out var source)) return $"no data source named '{query.Source}'";
        using var span = SmpcClient.StartSessionActivity("query.execute", session);
        try
        {
            _shape = QueryShape.Create(query, policy.MaxCells);
            var started = DateTimeOffset.UtcNow;
            _result = await PodQueryExecutor.RunAsync(_shape, query, query.Source, source, policy, baseDirectory, ct);
            _query = query;
            span?.SetTag("smpc.query.rows", _result.RowsReturned);
            span?.SetTag("smpc.query.suppressed", _result.Suppressed.Count(s => s));
            log($"session {session.Id}: query ran in {(DateTimeOffset.UtcNow - started).TotalSeconds:F1} s ({_result.RowsReturned} result rows, {_shape.CellCount} cells, {_result.Suppressed.Count(s => s)} suppressed)");
            return null;
        }
        catch (QuerySpecException ex)
        {
            return ex.Message;
        }
        catch (QueryRefusedException ex)
        {
            // The reason goes to the modeller; the detail (which may quote this pod's values) stays in the pod's own log.
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.Message);
            if (!string.IsNullOrEmpty(ex.Detail) && ex.Detail != ex.Message) log($"session {session.Id}: refused: {ex.Detail}");
            return ex.Message;
        }
    }

    public async Task<double[]> InputAsync(SessionResponse round, FederatedMember member, CancellationToken ct)
    {
        var (query, shape, result) = (_query!, _shape!, _result!);
        var label = round.Aggregation!.Input;
        using var span = SmpcClient.StartSessionActivity("query.encode", round);
        span?.SetTag("smpc.round", label);
        switch (label)
        {
            case "counts":
                RequireFields(round, shape.CountRoundFields());
                return PodQueryExecutor.CountRoundInput(result);
            case "values":
                var release = await member.ReadReleaseAsync<QueryRelease>("counts", ct);
                if (QueryRelease.Refusal(shape, release, result, query.MinPooledCount) is { } refusal) throw new FederatedRefusalException(refusal);
                RequireFields(round, shape.ValueRoundFields(release.ReleasedCells.Length));
                span?.SetTag("smpc.query.released_cells", release.ReleasedCells.Length);
                return PodQueryExecutor.ValueRoundInput(result, release.ReleasedCells);
            default:
                throw new FederatedRefusalException($"a query has no round '{label}'");
        }
    }

    /// <summary>The round must ask for exactly the vector the declared query produces: no other length, bounds or precision.</summary>
    internal static void RequireFields(SessionResponse round, IReadOnlyList<AggregationFieldRequest> expected)
    {
        var actual = round.Aggregation!.Fields;
        var same = actual.Count == expected.Count && actual.Zip(expected).All(p =>
            p.First.Name == p.Second.Name && p.First.Length == p.Second.Length && p.First.Min.Equals(p.Second.Min) && p.First.Max.Equals(p.Second.Max)
            && (p.First.Precision ?? 0) == (p.Second.Precision ?? 0));
        if (!same || round.Aggregation.Operation != "sum")
            throw new FederatedRefusalException($"round '{round.Aggregation.Input}' asks for fields other than the declared shape produces");
    }

    public void Dispose()
    {
    }
}
