namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>The command that creates a session.</summary>
[GenerateSerializer, Immutable, Alias("smpc.create-session")]
public sealed record CreateSession(
    [property: Id(0)] string ModellerId,
    [property: Id(1)] SessionKind Kind,
    [property: Id(2)] IReadOnlyList<string> PodIds,
    [property: Id(3)] AggregationSpec? Aggregation = null,
    [property: Id(4)] PsiSpec? Psi = null,
    [property: Id(5)] FederatedSpec? Federated = null,
    [property: Id(6)] string? Parent = null);
