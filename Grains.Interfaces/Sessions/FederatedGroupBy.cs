namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>A group-by column of a federated query and its declared domain: explicit values, integer bins or date bins.</summary>
[GenerateSerializer, Immutable, Alias("smpc.federated-group-by")]
public sealed record FederatedGroupBy(
    [property: Id(0)] string Column,
    [property: Id(1)] IReadOnlyList<string>? Values,
    [property: Id(2)] FederatedIntegerBins? Bins,
    [property: Id(3)] FederatedDateBins? DateBins);
