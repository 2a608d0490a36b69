using System.Text.Json;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Protocols.Federated.Query;
using Smpc.Protocols.Federated.Training;

namespace Smpc.ApiGateway.Mapping;

/// <summary>Between the REST federated shapes (query and training requests, status) and the grains' (the request kept as JSON).</summary>
internal static class FederatedMapping
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Validates a query request (its output shape must be encodable) and stores it as the session's spec.</summary>
    public static FederatedSpec ToSpec(QueryRequest? query)
    {
        if (query is null) throw SmpcException.Invalid("A query session needs 'query' (sql, source, groupBy, aggregates).");
        if (!EntityKey.IsValidId(query.Source)) throw SmpcException.Invalid("query.source must name one of the pods' data sources (an id).");
        if (query.RoundTimeoutSeconds is < 5 or > 86_400) throw SmpcException.Invalid("query.roundTimeoutSeconds must be between 5 and 86400.");
        try
        {
            _ = QueryShape.Create(query);
        }
        catch (QuerySpecException ex)
        {
            throw SmpcException.Invalid($"query: {ex.Message}");
        }

        return new FederatedSpec(JsonSerializer.Serialize(query, Json), Lifetime(2, query.RoundTimeoutSeconds));
    }

    /// <summary>Validates a training request (schedule, bounds that fit the encoding) and stores it as the session's spec.</summary>
    public static FederatedSpec ToSpec(TrainingRequest? training)
    {
        if (training is null) throw SmpcException.Invalid("A training session needs 'training' (trainer, source, features, label).");
        if (!EntityKey.IsValidId(training.Source)) throw SmpcException.Invalid("training.source must name one of the pods' data sources (an id).");
        if (TrainingRequests.SessionProblem(training) is { } problem) throw SmpcException.Invalid(problem);

        return new FederatedSpec(JsonSerializer.Serialize(training, Json), Lifetime(training.Rounds + 1, training.RoundTimeoutSeconds));
    }

    public static FederatedStatusResponse ToResponse(SessionKind kind, FederatedStatus f) => new(
        kind == SessionKind.FederatedQuery ? JsonSerializer.Deserialize<QueryRequest>(f.Spec.RequestJson, Json) : null,
        kind == SessionKind.FederatedTraining ? JsonSerializer.Deserialize<TrainingRequest>(f.Spec.RequestJson, Json) : null,
        f.MemberKeys.ToDictionary(m => m.Key, m => new MemberKeyRequest(Convert.ToBase64String(m.Value.PublicKey), Convert.ToBase64String(m.Value.Signature))),
        f.SealedKeys.ToDictionary(b => b.Key, b => Convert.ToBase64String(b.Value)),
        [.. f.Rounds.Select(r => new FederatedRoundResponse(r.Round, r.SessionId, r.CreatedAt, r.PodIds ?? []))], f.Releases,
        [.. f.Metrics.Select(m => new RoundMetricsResponse(m.Round, m.Values, m.ReportedAt))], f.FailureReason);

    /// <summary>
    /// A safety net for abandoned sessions: every round's four phase deadlines (roundTimeoutSeconds each), the channel's
    /// opening, plus ten minutes. A session that could not finish within 7 days is refused rather than cut short.
    /// </summary>
    private static TimeSpan Lifetime(int rounds, int roundTimeoutSeconds)
    {
        var seconds = (4.0 * rounds + 1) * roundTimeoutSeconds + 600;
        if (seconds > 7 * 86_400)
            throw SmpcException.Invalid($"{rounds} rounds of 4 phases at {roundTimeoutSeconds} s each could take longer than the 7 days a session may live; lower roundTimeoutSeconds or the rounds.");
        return TimeSpan.FromSeconds(seconds);
    }
}
