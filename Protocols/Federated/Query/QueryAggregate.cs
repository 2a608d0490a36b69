namespace Smpc.Protocols.Federated.Query;

/// <summary>A validated aggregate column of a federated query, with the bounds of the field it is aggregated in.</summary>
/// <param name="Name">The result column (and secure-aggregation field) name.</param>
/// <param name="Kind">Count, sum or mean.</param>
/// <param name="Min">Declared lower bound of a pod's cell value (sum or mean); 0 for a count.</param>
/// <param name="Max">Declared upper bound of a pod's cell value (sum or mean); MaxRowsPerCell for a count.</param>
/// <param name="Precision">Fixed-point scale of the field (1 for a count).</param>
/// <param name="CountColumn">Mean: the count aggregate it is weighted by; null otherwise.</param>
/// <param name="FieldMin">Lower bound of what a pod submits for one cell (a sum, a mean's sum, or 0 for an empty cell).</param>
/// <param name="FieldMax">Upper bound of what a pod submits for one cell.</param>
public sealed record QueryAggregate(
    string Name, QueryAggregateKind Kind, double Min, double Max, long Precision, string? CountColumn, double FieldMin, double FieldMax);
