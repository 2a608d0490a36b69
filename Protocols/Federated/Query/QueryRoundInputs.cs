namespace Smpc.Protocols.Federated.Query;

/// <summary>A pod's vectors for the two secure-aggregation rounds of a query, laid out as <see cref="QueryShape"/> declares the fields.</summary>
public static class QueryRoundInputs
{
    /// <summary>The pod's count-round vector: each count aggregate's cells, then 1 per suppressed cell (the fields of <see cref="QueryShape.CountRoundFields"/>).</summary>
    public static double[] CountRoundInput(PodQueryResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var cells = result.Suppressed.Length;
        var vector = new double[(result.Counts.Length + 1) * cells];
        for (var c = 0; c < result.Counts.Length; c++)
        {
            for (var cell = 0; cell < cells; cell++) vector[(c * cells) + cell] = result.Counts[c][cell];
        }

        for (var cell = 0; cell < cells; cell++) vector[(result.Counts.Length * cells) + cell] = result.Suppressed[cell] ? 1 : 0;
        return vector;
    }

    /// <summary>The pod's value-round vector: each value aggregate's sums for the released cells, in order (the fields of <see cref="QueryShape.ValueRoundFields"/>).</summary>
    public static double[] ValueRoundInput(PodQueryResult result, IReadOnlyList<int> releasedCells)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(releasedCells);
        for (var i = 0; i < releasedCells.Count; i++)
        {
            if (releasedCells[i] < 0 || releasedCells[i] >= result.Suppressed.Length || (i > 0 && releasedCells[i] <= releasedCells[i - 1]))
            {
                throw new ArgumentException("released cells must be distinct cells in increasing order", nameof(releasedCells));
            }
        }

        var vector = new double[result.Sums.Length * releasedCells.Count];
        for (var v = 0; v < result.Sums.Length; v++)
        {
            for (var i = 0; i < releasedCells.Count; i++) vector[(v * releasedCells.Count) + i] = result.Sums[v][releasedCells[i]];
        }

        return vector;
    }
}
