namespace Smpc.Protocols.Federated.Query;

/// <summary>
/// A pod's answer to a federated query, per cell, after its policy is applied: what it contributes to the two
/// secure-aggregation rounds. A suppressed cell holds zeros everywhere.
/// </summary>
/// <param name="Counts">Per count aggregate (in <see cref="QueryShape.CountAggregates"/> order), per cell.</param>
/// <param name="Sums">Per value aggregate (in <see cref="QueryShape.ValueAggregates"/> order), per cell: the pod's sum (for a mean, mean · count).</param>
/// <param name="Suppressed">Per cell: true where the pod has fewer rows than its minimum group size (but at least one).</param>
/// <param name="RowsReturned">Rows the SQL returned.</param>
public sealed record PodQueryResult(long[][] Counts, double[][] Sums, bool[] Suppressed, long RowsReturned);
