namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>The command that creates a session, with the spec of its kind.</summary>
/// <remarks>Id 5 (a federated request as JSON) is retired.</remarks>
[GenerateSerializer, Immutable, Alias("smpc.create-session")]
public sealed record CreateSession(
    [property: Id(0)] string ModellerId,
    [property: Id(1)] SessionKind Kind,
    [property: Id(2)] IReadOnlyList<string> PodIds,
    [property: Id(3)] AggregationSpec? Aggregation = null,
    [property: Id(4)] PsiSpec? Psi = null,
    [property: Id(6)] string? Parent = null,
    [property: Id(7)] FederatedQuerySpec? Query = null,
    [property: Id(8)] FederatedTrainingSpec? Training = null,
    [property: Id(9)] byte[]? ModellerSignature = null);
