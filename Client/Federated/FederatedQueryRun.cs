using Smpc.Client.Identity;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Query;

namespace Smpc.Client.Federated;

/// <summary>What a federated query produced, in the modeller's process: the result table and the session as it ended.</summary>
public sealed record FederatedQueryOutcome(SessionResponse Session, QueryResultTable Table, QueryRelease Release, IReadOnlyList<string> IncludedPods);

/// <summary>
/// Runs a federated SQL query for the modeller (DESIGN.md §3.2): a counts round, the release of the pooled counts to the
/// pods, then a values round over the cells whose pooled count reaches the minimum. Results are computed here only.
/// </summary>
public static class FederatedQueryRun
{
    /// <summary>Runs the query end to end; <paramref name="progress"/> hears each step.</summary>
    public static async Task<FederatedQueryOutcome> RunAsync(
        SmpcClient client, string tenant, string sessionId, string modellerId, IReadOnlyList<string> pods, QueryRequest query,
        PinStore? pins = null, Action<string>? progress = null, CancellationToken ct = default)
    {
        var shape = QueryShape.Create(query);
        using var modeller = await FederatedModeller.CreateAsync(client, tenant, new CreateSessionRequest(sessionId, modellerId, SessionKinds.Query, pods, Query: query), pins, ct: ct);
        try
        {
            progress?.Invoke($"waiting for {pods.Count} pods to run the query and join");
            await modeller.OpenChannelAsync(TimeSpan.FromSeconds(query.RoundTimeoutSeconds), ct);

            progress?.Invoke($"counts round over {shape.CellCount} cells");
            var counts = await modeller.RunRoundAsync("counts", pods, shape.CountRoundFields(), query.RoundTimeoutSeconds, ct);
            var included = counts.IncludedParties.Select(p => pods[p - 1]).ToList();
            var release = QueryRelease.Decide(shape, counts.Values, query.MinPooledCount);
            await modeller.ReleaseAsync("counts", release, ct);

            IReadOnlyDictionary<string, double[]>? values = null;
            if (release.ReleasedCells.Length > 0 && shape.ValueAggregates.Count > 0)
            {
                progress?.Invoke($"values round over {release.ReleasedCells.Length} released cells ({shape.CellCount - release.ReleasedCells.Length} withheld)");
                var round = await modeller.RunRoundAsync("values", included, shape.ValueRoundFields(release.ReleasedCells.Length), query.RoundTimeoutSeconds, ct);
                if (round.IncludedParties.Count != included.Count)
                    throw new FederatedSessionFailedException(
                        $"pods dropped out between the counts and the values round ({string.Join(", ", included.Where((_, i) => !round.IncludedParties.Contains(i + 1)))}); counts and sums would not match");
                values = round.Values;
            }

            var table = QueryResultTable.Build(shape, release, counts.Values, values);
            var session = await modeller.FinishAsync(ct: ct);
            return new FederatedQueryOutcome(session, table, release, included);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await TryFailAsync(modeller, ex.Message);
            throw;
        }
    }

    internal static async Task TryFailAsync(FederatedModeller modeller, string reason)
    {
        try
        {
            if (modeller.Session.Phase == SessionPhases.Running) await modeller.FinishAsync(reason.Length > 480 ? reason[..480] : reason);
        }
        catch (Exception)
        {
            // Already ended (a pod declined) or unreachable: the lifetime deadline ends it anyway.
        }
    }
}
