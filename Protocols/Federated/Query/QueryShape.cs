using System.Globalization;
using System.Text.RegularExpressions;
using Smpc.Contracts;

namespace Smpc.Protocols.Federated.Query;

/// <summary>
/// The validated output shape of a federated query (DESIGN.md §3.2): its cells (the cartesian product of the group-by
/// domains, first column slowest), its aggregates, and the secure-aggregation fields of its two rounds.
/// </summary>
/// <remarks>
/// 1. Count round: one integer field per count aggregate (length = cells, bounds [0, MaxRowsPerCell]) and the field
///    <see cref="SuppressedField"/> (1 where a pod suppressed the cell). Summed, they give the pooled counts.
/// 2. The modeller releases the pooled counts; cells whose pooled primary count reaches the minimum are released.
/// 3. Value round: one field per sum or mean aggregate, length = released cells, holding each pod's per-cell sum (a
///    mean is sent as mean · count); the pooled mean is Σsum / Σcount.
/// Every field is checked to fit the field Z_q, q = 2^61 − 1, summed over <see cref="SessionLimits.MaxFederatedPods"/> pods.
/// </remarks>
public sealed partial class QueryShape
{
    /// <summary>Fixed-point precision of sum and mean fields unless the query sets one.</summary>
    public const long DefaultPrecision = 10_000;

    /// <summary>The count-round field counting, per cell, the pods that suppressed it.</summary>
    public const string SuppressedField = "suppressed-pods";

    /// <summary>Column names the result table writes itself, so no aggregate or group-by column may take them.</summary>
    public static readonly IReadOnlyList<string> ReservedNames = ["withheld", "suppressed_on"];

    private const ulong FieldMaxSigned = ((1UL << 61) - 2) / 2;

    private readonly GroupDomain[] _domains;
    private readonly int[] _strides;

    private QueryShape(QueryRequest query, GroupDomain[] domains, int cellCount, QueryAggregate[] aggregates)
    {
        Query = query;
        _domains = domains;
        CellCount = cellCount;
        _strides = new int[domains.Length];
        var stride = 1;
        for (var i = domains.Length - 1; i >= 0; i--)
        {
            _strides[i] = stride;
            stride *= (int)domains[i].Size;
        }

        KeyColumns = [.. domains.Select(d => d.Column)];
        Aggregates = aggregates;
        CountAggregates = [.. aggregates.Where(a => a.Kind == QueryAggregateKind.Count)];
        ValueAggregates = [.. aggregates.Where(a => a.Kind != QueryAggregateKind.Count)];
        PrimaryCount = CountAggregates[0];
    }

    /// <summary>The query the shape was built from.</summary>
    public QueryRequest Query { get; }

    /// <summary>Number of cells: the product of the group-by domain sizes (1 without group-by).</summary>
    public int CellCount { get; }

    /// <summary>The group-by columns, in declared order.</summary>
    public IReadOnlyList<string> KeyColumns { get; }

    /// <summary>Every aggregate, in declared order.</summary>
    public IReadOnlyList<QueryAggregate> Aggregates { get; }

    /// <summary>The count aggregates, in declared order: the fields of the count round before <see cref="SuppressedField"/>.</summary>
    public IReadOnlyList<QueryAggregate> CountAggregates { get; }

    /// <summary>The first count aggregate: a cell's row count, which thresholds (minimum group and pooled counts) apply to.</summary>
    public QueryAggregate PrimaryCount { get; }

    /// <summary>The sum and mean aggregates, in declared order: the fields of the value round.</summary>
    public IReadOnlyList<QueryAggregate> ValueAggregates { get; }

    /// <summary>Validates <paramref name="q"/> and builds its shape.</summary>
    /// <exception cref="QuerySpecException">The query is invalid; the message says what is wrong.</exception>
    public static QueryShape Create(QueryRequest q, int maxCells = 100_000)
    {
        ArgumentNullException.ThrowIfNull(q);
        if (string.IsNullOrWhiteSpace(q.Sql)) throw new QuerySpecException("the query has no SQL");
        if (q.MinPooledCount < 0) throw new QuerySpecException($"minPooledCount must not be negative, not {q.MinPooledCount}");
        if (q.MaxRowsPerCell < 1) throw new QuerySpecException($"maxRowsPerCell must be at least 1, not {q.MaxRowsPerCell}");
        if (maxCells < 1) throw new ArgumentOutOfRangeException(nameof(maxCells), maxCells, "at least one cell must be allowed");

        var groupBy = q.GroupBy ?? [];
        var aggregatesIn = q.Aggregates ?? [];
        if (aggregatesIn.Count == 0) throw new QuerySpecException("the query declares no aggregates");

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        void CheckName(string? name, string what)
        {
            if (name is null || !Identifier().IsMatch(name))
            {
                throw new QuerySpecException($"{what} name '{name}' is not an identifier (a letter or '_', then letters, digits or '_')");
            }

            if (ReservedNames.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                throw new QuerySpecException($"{what} name '{name}' is reserved for the result table");
            }

            if (!names.Add(name)) throw new QuerySpecException($"column name '{name}' is used twice (names are compared ignoring case)");
        }

        var domains = new GroupDomain[groupBy.Count];
        long cells = 1;
        for (var i = 0; i < groupBy.Count; i++)
        {
            var g = groupBy[i] ?? throw new QuerySpecException($"group-by {i + 1} is missing");
            CheckName(g.Column, "group-by column");
            domains[i] = GroupDomain.Create(g, maxCells);
            cells *= domains[i].Size;
            if (cells > maxCells)
            {
                throw new QuerySpecException($"the group-by domains have more than {maxCells} cells together (at most {maxCells} allowed)");
            }
        }

        var declared = new List<QueryAggregateRequest>();
        foreach (var a in aggregatesIn)
        {
            if (a is null) throw new QuerySpecException("an aggregate is missing");
            CheckName(a.Name, "aggregate");
            declared.Add(a);
        }

        var countNames = declared.Where(a => KindOf(a) == QueryAggregateKind.Count).Select(a => a.Name).ToList();
        if (countNames.Count == 0)
        {
            throw new QuerySpecException("the query needs a count aggregate (the group's row count, which the minimum group and pooled counts apply to)");
        }

        var aggregates = declared.Select(a => Aggregate(a, KindOf(a), countNames, q.MaxRowsPerCell)).ToArray();
        return new QueryShape(q, domains, (int)cells, aggregates);
    }

    /// <summary>The key labels of cell <paramref name="cell"/>, one per group-by column: the value, "[from, to)" for integer bins, yyyy-MM-dd / yyyy-MM / yyyy for date bins.</summary>
    public IReadOnlyList<string> CellLabels(int cell)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cell);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(cell, CellCount);
        var labels = new string[_domains.Length];
        for (var i = 0; i < _domains.Length; i++)
        {
            labels[i] = _domains[i].Label(cell / _strides[i] % (int)_domains[i].Size);
        }

        return labels;
    }

    /// <summary>
    /// The cell SQL key values (one per group-by column, as a data reader returns them) fall in, or null when one is
    /// outside its domain. Explicit values compare by invariant text; integer bins take integral numbers or integer
    /// strings; date bins take dates, timestamps (their date as written) or ISO date/datetime strings.
    /// </summary>
    public int? CellOf(IReadOnlyList<object?> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count != _domains.Length) throw new ArgumentException($"expected {_domains.Length} keys, got {keys.Count}", nameof(keys));
        var cell = 0;
        for (var i = 0; i < _domains.Length; i++)
        {
            if (_domains[i].IndexOf(keys[i]) is not { } index) return null;
            cell += index * _strides[i];
        }

        return cell;
    }

    /// <summary>The fields of the count round: each count aggregate, then <see cref="SuppressedField"/>; all of length <see cref="CellCount"/>.</summary>
    public IReadOnlyList<AggregationFieldRequest> CountRoundFields() =>
    [
        .. CountAggregates.Select(a => new AggregationFieldRequest(a.Name, CellCount, a.FieldMin, a.FieldMax, 1)),
        new AggregationFieldRequest(SuppressedField, CellCount, 0, 1, 1),
    ];

    /// <summary>The fields of the value round, one per sum or mean aggregate, of length <paramref name="releasedCells"/>; empty when no value round is needed.</summary>
    public IReadOnlyList<AggregationFieldRequest> ValueRoundFields(int releasedCells)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(releasedCells);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(releasedCells, CellCount);
        if (releasedCells == 0) return [];
        return [.. ValueAggregates.Select(a => new AggregationFieldRequest(a.Name, releasedCells, a.FieldMin, a.FieldMax, a.Precision))];
    }

    /// <summary>"(age_band=[40, 50), region=north)": a cell named for messages.</summary>
    internal string Describe(int cell)
    {
        if (_domains.Length == 0) return "(all rows)";
        var labels = CellLabels(cell);
        return "(" + string.Join(", ", _domains.Select((d, i) => $"{d.Column}={labels[i]}")) + ")";
    }

    private static QueryAggregateKind KindOf(QueryAggregateRequest a) => a.Kind?.Trim().ToLowerInvariant() switch
    {
        "count" => QueryAggregateKind.Count,
        "sum" => QueryAggregateKind.Sum,
        "mean" => QueryAggregateKind.Mean,
        _ => throw new QuerySpecException($"aggregate '{a.Name}' has unknown kind '{a.Kind}' (use count, sum or mean)"),
    };

    private static QueryAggregate Aggregate(QueryAggregateRequest a, QueryAggregateKind kind, List<string> countNames, long maxRowsPerCell)
    {
        if (kind == QueryAggregateKind.Count)
        {
            if (a.Precision is { } p && p != 1) throw new QuerySpecException($"count aggregate '{a.Name}' is an exact integer; its precision must be 1, not {p}");
            if (a.CountColumn is not null) throw new QuerySpecException($"count aggregate '{a.Name}' takes no countColumn");
            CheckFits(a.Name, maxRowsPerCell, 1);
            return new QueryAggregate(a.Name, kind, 0, maxRowsPerCell, 1, null, 0, maxRowsPerCell);
        }

        if (!double.IsFinite(a.Min) || !double.IsFinite(a.Max) || a.Min > a.Max)
        {
            throw new QuerySpecException(string.Create(CultureInfo.InvariantCulture, $"aggregate '{a.Name}': bounds [{a.Min}, {a.Max}] must be finite with min ≤ max"));
        }

        var precision = a.Precision ?? DefaultPrecision;
        if (precision < 1) throw new QuerySpecException($"aggregate '{a.Name}': precision must be at least 1, not {precision}");

        string? countColumn = null;
        double fieldMin, fieldMax;
        if (kind == QueryAggregateKind.Sum)
        {
            if (a.CountColumn is not null) throw new QuerySpecException($"sum aggregate '{a.Name}' takes no countColumn (only a mean does)");

            // A pod's sum for a cell lies in [Min, Max], and an empty or suppressed cell sends 0, so the field holds both.
            fieldMin = Math.Min(0, a.Min);
            fieldMax = Math.Max(0, a.Max);
        }
        else
        {
            if (a.CountColumn is null)
            {
                countColumn = countNames.Count == 1
                    ? countNames[0]
                    : throw new QuerySpecException($"mean aggregate '{a.Name}' must name its countColumn: the query has {countNames.Count} count aggregates");
            }
            else
            {
                countColumn = countNames.FirstOrDefault(c => string.Equals(c, a.CountColumn, StringComparison.OrdinalIgnoreCase))
                    ?? throw new QuerySpecException($"mean aggregate '{a.Name}': countColumn '{a.CountColumn}' is not a count aggregate of the query");
            }

            // The pod sends mean · count with count ≤ MaxRowsPerCell (0 for an empty or suppressed cell).
            fieldMin = Math.Min(0, a.Min) * maxRowsPerCell;
            fieldMax = Math.Max(0, a.Max) * maxRowsPerCell;
        }

        CheckFits(a.Name, Math.Max(Math.Abs(fieldMin), Math.Abs(fieldMax)), precision);
        return new QueryAggregate(a.Name, kind, a.Min, a.Max, precision, countColumn, fieldMin, fieldMax);
    }

    // FixedPointCodec's rule: ⌈bound · precision⌉ · parties ≤ (q − 1)/2, so no pooled sum can wrap.
    private static void CheckFits(string name, double bound, long precision)
    {
        var scaled = Math.Ceiling(bound * precision);
        if (!(scaled < 9.2e18) || (UInt128)(ulong)scaled * SessionLimits.MaxFederatedPods > FieldMaxSigned)
        {
            throw new QuerySpecException(string.Create(
                CultureInfo.InvariantCulture,
                $"aggregate '{name}': a pod's cell value up to {bound:R} at precision {precision}, summed over {SessionLimits.MaxFederatedPods} pods, overflows the field (2^61 − 1); lower the bounds, maxRowsPerCell or the precision"));
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();
}
