namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>An aggregate column of a federated query: its kind (count, sum, mean), bounds, fixed-point precision and a mean's count column.</summary>
[GenerateSerializer, Immutable, Alias("smpc.federated-aggregate")]
public sealed record FederatedAggregate(
    [property: Id(0)] string Name,
    [property: Id(1)] string Kind,
    [property: Id(2)] double Min,
    [property: Id(3)] double Max,
    [property: Id(4)] long? Precision,
    [property: Id(5)] string? CountColumn);
