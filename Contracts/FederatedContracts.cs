// REST contracts of federated SQL (DESIGN.md §3.2) and federated training (§3.3). Both are "parent" sessions whose
// rounds are ordinary secure-aggregation sessions naming the parent; what the modeller releases to the pods between
// rounds (pooled counts, global parameters) travels sealed, so the service relays ciphertext only.
namespace Smpc.Contracts;

/// <summary>A group-by column and its declared value domain: an explicit list of values, integer bins or date bins (exactly one).</summary>
public sealed record GroupByRequest(string Column, IReadOnlyList<string>? Values = null, IntegerBinsRequest? Bins = null, DateBinsRequest? DateBins = null);

/// <summary>Integer bins [From, From+Width), …, up to To (exclusive); a key outside [From, To) refuses the query.</summary>
public sealed record IntegerBinsRequest(long From, long To, long Width);

/// <summary>Date bins of one <c>Unit</c> (day, month or year) from <c>From</c> (inclusive) to <c>To</c> (exclusive), ISO dates (yyyy-MM-dd).</summary>
public sealed record DateBinsRequest(string From, string To, string Unit);

/// <summary>
/// An aggregate column of the query's result. <c>Kind</c>: <c>count</c> (rows in the group), <c>sum</c> (the group's sum,
/// within [Min, Max] on each pod) or <c>mean</c> (the group's mean on each pod, within [Min, Max]; pooled as Σsum / Σcount
/// using <c>CountColumn</c>, default the query's only count column). <c>Precision</c>: fixed-point scale (default 10^4; 1 = integers).
/// </summary>
public sealed record QueryAggregateRequest(string Name, string Kind, double Min = 0, double Max = 0, long? Precision = null, string? CountColumn = null);

/// <summary>
/// A federated SQL query: the SQL each pod runs on its source named <c>Source</c>, and the declared output shape. The
/// result's columns are the group-by columns then the aggregates, by name. Cells whose pooled count is below
/// <c>MinPooledCount</c> are withheld; <c>MaxRowsPerCell</c> bounds a pod's count in one cell (it sizes the encoding).
/// </summary>
public sealed record QueryRequest(
    string Sql, string Source, IReadOnlyList<GroupByRequest> GroupBy, IReadOnlyList<QueryAggregateRequest> Aggregates,
    long MinPooledCount = 0, long MaxRowsPerCell = 10_000_000, int RoundTimeoutSeconds = 300);

/// <summary>
/// A federated training (FedAvg) session: the trainer (<c>linear</c> or <c>logistic</c>, or one a pod agent adds), the
/// pod source and columns, and the schedule. <c>ParameterBound</c> bounds every model parameter, <c>FeatureBound</c> every
/// feature value, <c>MaxSamplesPerPod</c> a pod's rows (together they size the encoding).
/// </summary>
public sealed record TrainingRequest(
    string Trainer, string Source, IReadOnlyList<string> Features, string Label,
    int Rounds = 20, double LearningRate = 0.1, int LocalEpochs = 5, int BatchSize = 0, double Tolerance = 1e-4, int RoundTimeoutSeconds = 300,
    double ParameterBound = 100, double FeatureBound = 1000, long MaxSamplesPerPod = 1_000_000);

/// <summary>A pod's member key for a federated session: an X25519 public key signed by its Ed25519 identity key (both base64).</summary>
public sealed record MemberKeyRequest(string PublicKey, string Signature);

/// <summary>The modeller's content key, sealed to each pod's member key (pod id → base64 box).</summary>
public sealed record SealedKeysRequest(IReadOnlyDictionary<string, string> Boxes);

/// <summary>A pod declines a federated session (its policy refused the query or the training data); the session fails with this reason.</summary>
public sealed record DeclineRequest(string Reason);

/// <summary>Metrics the modeller chooses to publish for one round (e.g. the pooled loss); the service stores them as given.</summary>
public sealed record RoundMetricsRequest(string Round, IReadOnlyDictionary<string, double> Values);

/// <summary>The modeller ends a federated session: completed, or failed with a reason.</summary>
public sealed record FinishFederatedRequest(string? FailureReason = null);

/// <summary>One round of a federated session: the secure-aggregation session that ran it (a round label runs once) and its pods.</summary>
public sealed record FederatedRoundResponse(string Round, string SessionId, DateTimeOffset CreatedAt, IReadOnlyList<string> PodIds);

/// <summary>Published metrics of one round.</summary>
public sealed record RoundMetricsResponse(string Round, IReadOnlyDictionary<string, double> Values, DateTimeOffset ReportedAt);

/// <summary>Progress of a federated query or training session.</summary>
public sealed record FederatedStatusResponse(
    QueryRequest? Query, TrainingRequest? Training,
    IReadOnlyDictionary<string, MemberKeyRequest> MemberKeys, IReadOnlyDictionary<string, string> SealedKeys,
    IReadOnlyList<FederatedRoundResponse> Rounds, IReadOnlyList<string> Broadcasts, IReadOnlyList<RoundMetricsResponse> Metrics,
    string? FailureReason);
