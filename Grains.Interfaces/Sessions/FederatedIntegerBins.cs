namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>Integer bins [From, From+Width), …, up to To (exclusive) of a federated query's group-by column.</summary>
[GenerateSerializer, Immutable, Alias("smpc.federated-integer-bins")]
public sealed record FederatedIntegerBins(
    [property: Id(0)] long From,
    [property: Id(1)] long To,
    [property: Id(2)] long Width);
