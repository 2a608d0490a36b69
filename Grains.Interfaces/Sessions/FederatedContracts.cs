namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>A pod's member key: an X25519 public key and its Ed25519 signature by the pod's identity key.</summary>
[GenerateSerializer, Immutable, Alias("smpc.member-key")]
public sealed record MemberKey(
    [property: Id(0)] byte[] PublicKey,
    [property: Id(1)] byte[] Signature);

/// <summary>One round of a federated session: its label, the secure-aggregation session that runs it, and its pods.</summary>
[GenerateSerializer, Immutable, Alias("smpc.federated-round")]
public sealed record FederatedRound(
    [property: Id(0)] string Round,
    [property: Id(1)] string SessionId,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] IReadOnlyList<string>? PodIds = null);

/// <summary>Metrics the modeller published for one round.</summary>
[GenerateSerializer, Immutable, Alias("smpc.round-metrics")]
public sealed record RoundMetrics(
    [property: Id(0)] string Round,
    [property: Id(1)] IReadOnlyDictionary<string, double> Values,
    [property: Id(2)] DateTimeOffset ReportedAt);

/// <summary>Progress of a federated session: its spec, keys (public or sealed), rounds, release names, published metrics. Never a result.</summary>
/// <remarks>Id 0 (the request as JSON) is retired.</remarks>
[GenerateSerializer, Immutable, Alias("smpc.federated-status")]
public sealed record FederatedStatus(
    [property: Id(8)] FederatedQuerySpec? Query,
    [property: Id(9)] FederatedTrainingSpec? Training,
    [property: Id(1)] IReadOnlyDictionary<string, MemberKey> MemberKeys,
    [property: Id(2)] IReadOnlyDictionary<string, byte[]> SealedKeys,
    [property: Id(3)] IReadOnlyList<FederatedRound> Rounds,
    [property: Id(4)] IReadOnlyList<string> Releases,
    [property: Id(5)] IReadOnlyList<RoundMetrics> Metrics,
    [property: Id(6)] DateTimeOffset? Deadline,
    [property: Id(7)] string? FailureReason);
