using System.Text.Json;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Sessions;

/// <summary>A federated session's typed spec as the request the pure rules in <c>Protocols/Federated</c> take, and spec equality.</summary>
internal static class FederatedRequests
{
    public static QueryRequest ToRequest(FederatedQuerySpec q) => new(
        q.Sql, q.Source,
        q.GroupBy is null ? null! : [.. q.GroupBy.Select(g => g is null ? null! : new GroupByRequest(g.Column, g.Values,
            g.Bins is { } b ? new IntegerBinsRequest(b.From, b.To, b.Width) : null,
            g.DateBins is { } d ? new DateBinsRequest(d.From, d.To, d.Unit) : null))],
        q.Aggregates is null ? null! : [.. q.Aggregates.Select(a => a is null ? null! : new QueryAggregateRequest(a.Name, a.Kind, a.Min, a.Max, a.Precision, a.CountColumn))],
        q.MinPooledCount, q.MaxRowsPerCell, q.RoundTimeoutSeconds);

    public static TrainingRequest ToRequest(FederatedTrainingSpec t) => new(
        t.Trainer, t.Source, t.Features, t.Label, t.Rounds, t.LearningRate, t.LocalEpochs, t.BatchSize, t.Tolerance, t.RoundTimeoutSeconds,
        t.ParameterBound, t.FeatureBound, t.MaxSamplesPerPod);

    /// <summary>
    /// Whether two specs ask for the same session (an idempotent create): equal when they serialise alike, as the request
    /// JSON the session stored before was compared (records compare their lists by reference).
    /// </summary>
    public static bool Same<T>(T? a, T? b) where T : class =>
        a is null ? b is null : b is not null && JsonSerializer.Serialize(a) == JsonSerializer.Serialize(b);
}
