namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>
/// What a federated query session runs (DESIGN.md §3.2): the SQL each pod runs on its source and the declared output shape
/// (group-by domains, aggregates), the minimum pooled count per cell, a pod's rows per cell and each round's timeout.
/// </summary>
[GenerateSerializer, Immutable, Alias("smpc.federated-query-spec")]
public sealed record FederatedQuerySpec(
    [property: Id(0)] string Sql,
    [property: Id(1)] string Source,
    [property: Id(2)] IReadOnlyList<FederatedGroupBy>? GroupBy,
    [property: Id(3)] IReadOnlyList<FederatedAggregate> Aggregates,
    [property: Id(4)] long MinPooledCount,
    [property: Id(5)] long MaxRowsPerCell,
    [property: Id(6)] int RoundTimeoutSeconds);
