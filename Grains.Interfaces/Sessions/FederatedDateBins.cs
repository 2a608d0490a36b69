namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>Date bins of one unit (day, month or year) from From (inclusive) to To (exclusive), ISO dates, of a federated query's group-by column.</summary>
[GenerateSerializer, Immutable, Alias("smpc.federated-date-bins")]
public sealed record FederatedDateBins(
    [property: Id(0)] string From,
    [property: Id(1)] string To,
    [property: Id(2)] string Unit);
