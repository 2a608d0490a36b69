namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>A session as stored by its grain.</summary>
[GenerateSerializer, Immutable, Alias("smpc.session-info")]
public sealed record SessionInfo(
    [property: Id(0)] string Tenant,
    [property: Id(1)] string Id,
    [property: Id(2)] string ModellerId,
    [property: Id(3)] SessionKind Kind,
    [property: Id(4)] IReadOnlyList<string> PodIds,
    [property: Id(5)] SessionPhase Phase,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] int Version,
    [property: Id(8)] AggregationStatus? Aggregation = null,
    [property: Id(9)] string? TraceParent = null,
    [property: Id(10)] PsiStatus? Psi = null,
    [property: Id(11)] FederatedStatus? Federated = null,
    [property: Id(12)] string? Parent = null,
    [property: Id(13)] SessionCancellation? Cancellation = null,
    [property: Id(14)] byte[]? ModellerSignature = null,
    [property: Id(15)] DateTimeOffset? UpdatedAt = null,
    [property: Id(16)] DateTimeOffset? EndedAt = null);
