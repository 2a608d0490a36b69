using System.Globalization;
using Smpc.Contracts;

namespace Smpc.Protocols.Federated.Query;

/// <summary>
/// What the modeller releases to the pods after the count round (sealed, so the service never reads it): the pooled
/// primary count and the number of suppressing pods per cell, and the cells whose values the value round aggregates.
/// </summary>
/// <param name="PooledCounts">Per cell: the pooled primary count.</param>
/// <param name="SuppressedOn">Per cell: how many pods suppressed it.</param>
/// <param name="ReleasedCells">Cells whose pooled count reaches the minimum, in increasing order: the value round's elements.</param>
public sealed record QueryRelease(long[] PooledCounts, long[] SuppressedOn, int[] ReleasedCells)
{
    /// <summary>Decides the release from the decoded sums of the count round (field name → per-cell sum).</summary>
    /// <exception cref="InvalidDataException">A field is missing, has the wrong length, or holds a value no honest sum can.</exception>
    public static QueryRelease Decide(QueryShape shape, IReadOnlyDictionary<string, double[]> countRoundSums, long minPooledCount)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(countRoundSums);
        ArgumentOutOfRangeException.ThrowIfNegative(minPooledCount);
        var pooled = Integers(shape, countRoundSums, shape.PrimaryCount.Name, shape.Query.MaxRowsPerCell);
        var suppressedOn = Integers(shape, countRoundSums, QueryShape.SuppressedField, 1);
        var released = Enumerable.Range(0, shape.CellCount).Where(cell => pooled[cell] >= minPooledCount).ToArray();
        return new QueryRelease(pooled, suppressedOn, released);
    }

    /// <summary>
    /// A pod's check of a release before it sends values: null when acceptable, else why not — malformed lengths or cells,
    /// or a released cell whose pooled count is below the minimum or below the pod's own count (a modeller lying to
    /// have a small cell's values sent).
    /// </summary>
    public static string? Refusal(QueryShape shape, QueryRelease release, PodQueryResult own, long minPooledCount)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(own);
        if (release?.PooledCounts is null || release.SuppressedOn is null || release.ReleasedCells is null)
        {
            return "the released counts are incomplete";
        }

        if (release.PooledCounts.Length != shape.CellCount || release.SuppressedOn.Length != shape.CellCount
            || own.Suppressed.Length != shape.CellCount || own.Counts.Length != shape.CountAggregates.Count)
        {
            return string.Create(CultureInfo.InvariantCulture, $"the released counts do not have the query's {shape.CellCount} cells");
        }

        var ownCounts = own.Counts[0];
        for (var i = 0; i < release.ReleasedCells.Length; i++)
        {
            var cell = release.ReleasedCells[i];
            if (cell < 0 || cell >= shape.CellCount || (i > 0 && cell <= release.ReleasedCells[i - 1]))
            {
                return "the released cells are not distinct cells of the query in increasing order";
            }

            var pooled = release.PooledCounts[cell];
            if (pooled < minPooledCount)
            {
                return string.Create(CultureInfo.InvariantCulture, $"cell {shape.Describe(cell)} is released with a pooled count of {pooled}, below the minimum {minPooledCount}");
            }

            if (pooled < ownCounts[cell])
            {
                return string.Create(CultureInfo.InvariantCulture, $"cell {shape.Describe(cell)} is released with a pooled count below this pod's own count");
            }
        }

        return null;
    }

    internal static long[] Integers(QueryShape shape, IReadOnlyDictionary<string, double[]> sums, string field, long maxPerPod)
    {
        if (!sums.TryGetValue(field, out var values) || values is null) throw new InvalidDataException($"the count round has no field '{field}'");
        if (values.Length != shape.CellCount)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"count-round field '{field}' has {values.Length} cells, not {shape.CellCount}"));
        }

        var max = (double)maxPerPod * SessionLimits.MaxFederatedPods;
        var result = new long[values.Length];
        for (var cell = 0; cell < values.Length; cell++)
        {
            var v = values[cell];
            if (!(v >= 0 && v <= max) || v != Math.Floor(v))
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"count-round field '{field}' holds {v} at cell {cell}, which is not a pooled count"));
            }

            result[cell] = (long)v;
        }

        return result;
    }
}
