using Smpc.Agent.Federated;
using Smpc.Client;
using Smpc.Client.Federated;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Query;

namespace Smpc.Agent.Query;

/// <summary>
/// A pod's part in a federated SQL query: runs the query once on its own source under its policy (read-only, time-limited,
/// allowed tables and columns, minimum rows per group), then contributes the counts round and, once the modeller has
/// released the pooled counts, the values of the released cells only.
/// </summary>
internal sealed class QueryPodDriver(PodAgentConfig config, string baseDirectory, Action<string> log) : IFederatedPodDriver
{
    /// <summary>The modeller whose signature verified; the allow-list is checked against it.</summary>
    public Smpc.Client.Identity.VerifiedModeller? Modeller { get; init; }

    private QueryRequest? _query;
    private QueryShape? _shape;
    private PodQueryResult? _result;

    public async Task<string?> PrepareAsync(SessionResponse session, CancellationToken ct)
    {
        if (session.Federated?.Query is not { } query) return "not a query session";
        var policy = config.Query;
        if (!(Modeller?.IsAllowedBy(policy.Modellers) ?? (policy.Modellers.Count == 0 || policy.Modellers.Contains(session.ModellerId)))) return $"modeller {session.ModellerId} may not query this pod";
        if (!config.Sources.TryGetValue(query.Source, out var source)) return $"no data source named '{query.Source}'";
        using var span = SmpcClient.StartSessionActivity("query.execute", session);
        try
        {
            _shape = QueryShape.Create(query, policy.MaxCells);
            var started = DateTimeOffset.UtcNow;
            _result = await QueryExecutor.RunAsync(_shape, query, query.Source, source, policy, baseDirectory, ct);
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
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or System.Data.Common.DbException)
        {
            log($"session {session.Id}: source '{query.Source}' failed: {ex.Message}");
            return $"the pod's source '{query.Source}' cannot be read";
        }
        catch (QueryRefusedException ex)
        {
            // The reason goes to the modeller; the detail (which may quote this pod's values) stays in the pod's own log.
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.Message);
            if (!string.IsNullOrEmpty(ex.Detail) && ex.Detail != ex.Message) log($"session {session.Id}: refused: {ex.Detail}");
            return ex.Message;
        }
    }

    public async Task<double[]> InputAsync(SessionResponse round, SessionResponse parent, FederatedPodChannel channel, CancellationToken ct)
    {
        var (query, shape, result) = (_query!, _shape!, _result!);
        var label = round.Aggregation!.Input;
        using var span = SmpcClient.StartSessionActivity("query.encode", round);
        span?.SetTag("smpc.round", label);
        switch (label)
        {
            case "counts":
                RequirePods(round, parent.PodIds);
                RequireFields(round, shape.CountRoundFields());
                return QueryRoundInputs.CountRoundInput(result);
            case "values":
                // Only the pods whose counts were pooled: any other set would make counts and sums disagree, or, with
                // another values round, let sums be subtracted.
                RequirePods(round, await IncludedInAsync(parent, "counts", channel, ct));
                var release = await channel.ReadReleaseAsync<QueryRelease>("counts", ct);
                if (QueryRelease.Refusal(shape, release, result, query.MinPooledCount) is { } refusal) throw new FederatedRefusalException(refusal);
                RequireFields(round, shape.ValueRoundFields(release.ReleasedCells.Length));
                span?.SetTag("smpc.query.released_cells", release.ReleasedCells.Length);
                return QueryRoundInputs.ValueRoundInput(result, release.ReleasedCells);
            default:
                throw new FederatedRefusalException($"a query has no round '{label}'");
        }
    }

    /// <summary>The round must run over exactly <paramref name="expected"/> (the parent's pods, or a previous round's included pods).</summary>
    internal static void RequirePods(SessionResponse round, IEnumerable<string> expected)
    {
        if (!round.PodIds.ToHashSet(StringComparer.Ordinal).SetEquals(expected))
            throw new FederatedRefusalException($"round '{round.Aggregation!.Input}' runs over pods {string.Join(", ", round.PodIds)}, not the ones it must");
    }

    /// <summary>The pods whose vectors round <paramref name="label"/> of <paramref name="parent"/> included, as its session reports them.</summary>
    private static async Task<IReadOnlyList<string>> IncludedInAsync(SessionResponse parent, string label, FederatedPodChannel channel, CancellationToken ct)
    {
        var ran = parent.Federated?.Rounds.FirstOrDefault(r => r.Round == label)
            ?? throw new FederatedRefusalException($"round '{label}' has not run");
        var session = await channel.GetSessionAsync(ran.SessionId, ct);
        if (session.Phase != SessionPhases.Completed || session.Aggregation?.Included is not { } included)
            throw new FederatedRefusalException($"round '{label}' has not completed");
        return [.. included.Select(party => session.PodIds[party - 1])];
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
