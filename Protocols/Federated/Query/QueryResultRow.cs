namespace Smpc.Protocols.Federated.Query;

/// <summary>One cell of a federated query's result.</summary>
/// <param name="Cell">The cell's index in the query's shape.</param>
/// <param name="Keys">The cell's key labels, one per group-by column.</param>
/// <param name="Values">One per aggregate in declared order: a count's pooled count, a sum's pooled sum, a mean's Σsum / Σcount; null when withheld, or a mean over no rows.</param>
/// <param name="Withheld">The pooled count is below the minimum: the values were not aggregated (the counts are shown, they were released).</param>
/// <param name="SuppressedOn">How many pods suppressed this cell (their rows are missing from it).</param>
public sealed record QueryResultRow(int Cell, IReadOnlyList<string> Keys, IReadOnlyList<double?> Values, bool Withheld, long SuppressedOn);
