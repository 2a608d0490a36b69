using Smpc.Contracts;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.ApiGateway.Mapping;

/// <summary>
/// Between the REST federated shapes (query and training requests, status) and the grains' typed specs. Only maps: the
/// session grain checks the spec against the rules in <c>Protocols/Federated</c> (a missing spec included).
/// </summary>
internal static class FederatedMapping
{
    /// <summary>The query request as a query session's spec, as sent (null stays null, for the grain to refuse).</summary>
    public static FederatedQuerySpec? ToSpec(QueryRequest? query) => query is null ? null : new(
        query.Sql, query.Source,
        query.GroupBy is null ? null : [.. query.GroupBy.Select(g => g is null ? null! : new FederatedGroupBy(g.Column, g.Values,
            g.Bins is { } b ? new FederatedIntegerBins(b.From, b.To, b.Width) : null,
            g.DateBins is { } d ? new FederatedDateBins(d.From, d.To, d.Unit) : null))],
        query.Aggregates is null ? null! : [.. query.Aggregates.Select(a => a is null ? null! : new FederatedAggregate(a.Name, a.Kind, a.Min, a.Max, a.Precision, a.CountColumn))],
        query.MinPooledCount, query.MaxRowsPerCell, query.RoundTimeoutSeconds);

    /// <summary>The training request as a training session's spec, as sent (null stays null, for the grain to refuse).</summary>
    public static FederatedTrainingSpec? ToSpec(TrainingRequest? training) => training is null ? null : new(
        training.Trainer, training.Source, training.Features, training.Label, training.Rounds, training.LearningRate, training.LocalEpochs,
        training.BatchSize, training.Tolerance, training.RoundTimeoutSeconds, training.ParameterBound, training.FeatureBound, training.MaxSamplesPerPod);

    public static FederatedStatusResponse ToResponse(FederatedStatus f) => new(
        f.Query is { } query ? ToRequest(query) : null,
        f.Training is { } training ? ToRequest(training) : null,
        f.MemberKeys.ToDictionary(m => m.Key, m => new MemberKeyRequest(Convert.ToBase64String(m.Value.PublicKey), Convert.ToBase64String(m.Value.Signature))),
        f.SealedKeys.ToDictionary(b => b.Key, b => Convert.ToBase64String(b.Value)),
        [.. f.Rounds.Select(r => new FederatedRoundResponse(r.Round, r.SessionId, r.CreatedAt, r.PodIds ?? []))], f.Releases,
        [.. f.Metrics.Select(m => new RoundMetricsResponse(m.Round, m.Values, m.ReportedAt))], f.FailureReason);

    private static QueryRequest ToRequest(FederatedQuerySpec q) => new(
        q.Sql, q.Source,
        q.GroupBy is null ? null! : [.. q.GroupBy.Select(g => new GroupByRequest(g.Column, g.Values,
            g.Bins is { } b ? new IntegerBinsRequest(b.From, b.To, b.Width) : null,
            g.DateBins is { } d ? new DateBinsRequest(d.From, d.To, d.Unit) : null))],
        [.. q.Aggregates.Select(a => new QueryAggregateRequest(a.Name, a.Kind, a.Min, a.Max, a.Precision, a.CountColumn))],
        q.MinPooledCount, q.MaxRowsPerCell, q.RoundTimeoutSeconds);

    private static TrainingRequest ToRequest(FederatedTrainingSpec t) => new(
        t.Trainer, t.Source, t.Features, t.Label, t.Rounds, t.LearningRate, t.LocalEpochs, t.BatchSize, t.Tolerance, t.RoundTimeoutSeconds,
        t.ParameterBound, t.FeatureBound, t.MaxSamplesPerPod);
}
