using Smpc.Contracts;
using Smpc.Protocols;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.Federated.Query;
using Smpc.Protocols.Field;

namespace Smpc.Protocols.Tests.Federated.Query;

public sealed class QueryShapeTests
{
    private static readonly QueryRequest Valid = new(
        "SELECT region, age, count(*) AS n, sum(stay) AS total, avg(stay) AS mean_stay FROM visits GROUP BY 1, 2",
        "visits",
        [new GroupByRequest("region", Values: ["north", "south"]), new GroupByRequest("age", Bins: new IntegerBinsRequest(0, 100, 20))],
        [new QueryAggregateRequest("n", "count"), new QueryAggregateRequest("total", "sum", 10, 1000), new QueryAggregateRequest("mean_stay", "mean", -5, 365)]);

    public static TheoryData<string, QueryRequest> InvalidQueries => new()
    {
        { "has no SQL", Valid with { Sql = "  " } },
        { "declares no aggregates", Valid with { Aggregates = [] } },
        { "aggregate name '1n' is not an identifier", Valid with { Aggregates = [new("1n", "count")] } },
        { "aggregate name 'mean stay' is not an identifier", Valid with { Aggregates = [new("n", "count"), new("mean stay", "mean", 0, 1)] } },
        { "column name 'N' is used twice", Valid with { Aggregates = [new("n", "count"), new("N", "count")] } },
        { "column name 'region' is used twice", Valid with { Aggregates = [new("region", "count")] } },
        { "column name 'Age' is used twice", Valid with { GroupBy = [new("age", Values: ["1"]), new("Age", Values: ["2"])] } },
        { "group-by column name 'a-b' is not an identifier", Valid with { GroupBy = [new("a-b", Values: ["1"])] } },
        { "aggregate name 'withheld' is reserved", Valid with { Aggregates = [new("n", "count"), new("withheld", "sum", 0, 1)] } },
        { "unknown kind 'median'", Valid with { Aggregates = [new("n", "count"), new("m", "median", 0, 1)] } },
        { "needs a count aggregate", Valid with { Aggregates = [new("total", "sum", 0, 1)] } },
        { "countColumn 'total' is not a count aggregate", Valid with { Aggregates = [new("n", "count"), new("total", "sum", 0, 1), new("m", "mean", 0, 1, CountColumn: "total")] } },
        { "countColumn 'nope' is not a count aggregate", Valid with { Aggregates = [new("n", "count"), new("m", "mean", 0, 1, CountColumn: "nope")] } },
        { "must name its countColumn: the query has 2 count aggregates", Valid with { Aggregates = [new("n", "count"), new("k", "count"), new("m", "mean", 0, 1)] } },
        { "bounds [NaN, 1] must be finite", Valid with { Aggregates = [new("n", "count"), new("s", "sum", double.NaN, 1)] } },
        { "bounds [0, Infinity] must be finite", Valid with { Aggregates = [new("n", "count"), new("s", "sum", 0, double.PositiveInfinity)] } },
        { "bounds [2, 1] must be finite with min ≤ max", Valid with { Aggregates = [new("n", "count"), new("s", "mean", 2, 1)] } },
        { "precision must be at least 1", Valid with { Aggregates = [new("n", "count"), new("s", "sum", 0, 1, Precision: 0)] } },
        { "its precision must be 1", Valid with { Aggregates = [new("n", "count", Precision: 100)] } },
        { "must declare exactly one of values, bins or dateBins (it declares 2)", Valid with { GroupBy = [new("g", Values: ["a"], Bins: new(0, 1, 1))] } },
        { "must declare exactly one of values, bins or dateBins (it declares 0)", Valid with { GroupBy = [new("g")] } },
        { "declares an empty list of values", Valid with { GroupBy = [new("g", Values: [])] } },
        { "value 'a' is listed twice", Valid with { GroupBy = [new("g", Values: ["a", "b", "a"])] } },
        { "value 2 is empty", Valid with { GroupBy = [new("g", Values: ["a", ""])] } },
        { "bin width must be positive, not 0", Valid with { GroupBy = [new("g", Bins: new(0, 10, 0))] } },
        { "bins need from < to (from 10, to 10)", Valid with { GroupBy = [new("g", Bins: new(10, 10, 1))] } },
        { "'from' must be a date yyyy-MM-dd, not '2024-13-01'", Valid with { GroupBy = [new("d", DateBins: new("2024-13-01", "2025-01-01", "month"))] } },
        { "'to' must be a date yyyy-MM-dd, not '1/1/2025'", Valid with { GroupBy = [new("d", DateBins: new("2024-01-01", "1/1/2025", "month"))] } },
        { "unit must be day, month or year, not 'week'", Valid with { GroupBy = [new("d", DateBins: new("2024-01-01", "2025-01-01", "week"))] } },
        { "month bins must start and end on the first day of a month", Valid with { GroupBy = [new("d", DateBins: new("2024-01-15", "2025-01-01", "month"))] } },
        { "year bins must start and end on the first day of a year", Valid with { GroupBy = [new("d", DateBins: new("2024-01-01", "2025-06-01", "year"))] } },
        { "date bins need from < to", Valid with { GroupBy = [new("d", DateBins: new("2024-01-01", "2024-01-01", "day"))] } },
        { "more than 100000 cells together", Valid with { GroupBy = [new("a", Bins: new(0, 1000, 1)), new("b", Bins: new(0, 101, 1))] } },
        { "has 1000000 bins, more than the 100000 cells allowed", Valid with { GroupBy = [new("a", Bins: new(0, 1_000_000, 1))] } },
        { "has 3653 date bins", Valid with { GroupBy = [new("d", DateBins: new("2000-01-01", "2010-01-01", "day"))] } },
        { "minPooledCount must not be negative", Valid with { MinPooledCount = -1 } },
        { "maxRowsPerCell must be at least 1", Valid with { MaxRowsPerCell = 0 } },
        { "aggregate 'total': a pod's cell value up to 1000000000000000 at precision 10000", Valid with { Aggregates = [new("n", "count"), new("total", "sum", 0, 1e15)] } },
        { "aggregate 'mean_stay': a pod's cell value up to 10000000000000 at precision 10000", Valid with { Aggregates = [new("n", "count"), new("mean_stay", "mean", -1e6, 1)] } },
        { "aggregate 'n': a pod's cell value up to 1E+17", Valid with { MaxRowsPerCell = 100_000_000_000_000_000 } },
    };

    [Theory]
    [MemberData(nameof(InvalidQueries))]
    public void InvalidQuery_IsRefusedSayingWhatIsWrong(string expected, QueryRequest query)
    {
        var error = Assert.Throws<QuerySpecException>(() => QueryShape.Create(query, query.GroupBy.Any(g => g.DateBins is not null) ? 3000 : 100_000));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidQuery_HasCellsAggregatesAndFields()
    {
        var shape = QueryShape.Create(Valid);

        Assert.Equal(10, shape.CellCount);
        Assert.Equal(["region", "age"], shape.KeyColumns);
        Assert.Equal("n", shape.PrimaryCount.Name);
        Assert.Equal(["total", "mean_stay"], shape.ValueAggregates.Select(a => a.Name));
        Assert.Equal("n", shape.ValueAggregates[1].CountColumn);
        Assert.Equal(
            [new AggregationFieldRequest("n", 10, 0, 10_000_000, 1), new AggregationFieldRequest("suppressed-pods", 10, 0, 1, 1)],
            shape.CountRoundFields());

        // A sum's field also holds the 0 of an empty cell; a mean's holds mean · count for up to maxRowsPerCell rows.
        Assert.Equal(
            [new AggregationFieldRequest("total", 3, 0, 1000, 10_000), new AggregationFieldRequest("mean_stay", 3, -50_000_000, 3_650_000_000, 10_000)],
            shape.ValueRoundFields(3));
        Assert.Empty(shape.ValueRoundFields(0));
    }

    [Fact]
    public void MeanCountColumn_MatchesIgnoringCase_AndPicksAmongSeveralCounts()
    {
        var shape = QueryShape.Create(Valid with { Aggregates = [new("n", "count"), new("visits_with_stay", "count"), new("m", "mean", 0, 1, CountColumn: "VISITS_WITH_STAY")] });

        Assert.Equal("visits_with_stay", shape.ValueAggregates[0].CountColumn);
        Assert.Equal(["n", "visits_with_stay", "suppressed-pods"], shape.CountRoundFields().Select(f => f.Name));
    }

    [Fact]
    public void Cells_AreRowMajor_FirstGroupBySlowest_WithLabels()
    {
        var shape = QueryShape.Create(Valid with { GroupBy = [new("region", Values: ["north", "south"]), new("age", Bins: new IntegerBinsRequest(0, 100, 30))] });

        Assert.Equal(8, shape.CellCount);
        Assert.Equal(5, shape.CellOf(["south", 45L]));
        Assert.Equal(["south", "[30, 60)"], shape.CellLabels(5));
        Assert.Equal(["north", "[90, 100)"], shape.CellLabels(3)); // the last bin stops at To
        Assert.Throws<ArgumentException>(() => shape.CellOf(["north"]));
    }

    [Fact]
    public void ExplicitValues_CompareByInvariantText()
    {
        var shape = QueryShape.Create(Valid with { GroupBy = [new("code", Values: ["1", "2.5", "x", "12.5", "2024-03-01", "true"])] });

        Assert.Equal(0, shape.CellOf([1L]));
        Assert.Equal(0, shape.CellOf([1.0]));
        Assert.Equal(0, shape.CellOf(["1"]));
        Assert.Equal(1, shape.CellOf([2.5]));
        Assert.Equal(1, shape.CellOf(["2.5"]));
        Assert.Equal(2, shape.CellOf(["x"]));
        Assert.Equal(3, shape.CellOf([12.50m])); // PostgreSQL numeric keeps trailing zeros
        Assert.Equal(4, shape.CellOf([new DateTime(2024, 3, 1)]));
        Assert.Equal(5, shape.CellOf([true]));
        Assert.Null(shape.CellOf(["X"]));
        Assert.Null(shape.CellOf(["1.0"]));
        Assert.Null(shape.CellOf([null]));
        Assert.Null(shape.CellOf([DBNull.Value]));
    }

    [Fact]
    public void IntegerBins_TakeIntegralNumbersAndIntegerStrings()
    {
        var shape = QueryShape.Create(Valid with { GroupBy = [new("age", Bins: new IntegerBinsRequest(-10, 100, 30))] });

        Assert.Equal(4, shape.CellCount);
        Assert.Equal(["[-10, 20)", "[20, 50)", "[50, 80)", "[80, 100)"], Enumerable.Range(0, 4).Select(c => shape.CellLabels(c)[0]));
        Assert.Equal(0, shape.CellOf([-10L]));
        Assert.Equal(0, shape.CellOf([19]));
        Assert.Equal(1, shape.CellOf([20.0]));
        Assert.Equal(2, shape.CellOf(["50"]));
        Assert.Equal(3, shape.CellOf(["-0099"[1..]]));
        Assert.Equal(3, shape.CellOf([99m]));
        Assert.Null(shape.CellOf([100L]));
        Assert.Null(shape.CellOf([-11L]));
        Assert.Null(shape.CellOf([19.5]));
        Assert.Null(shape.CellOf(["19.5"]));
        Assert.Null(shape.CellOf([" 19"]));
        Assert.Null(shape.CellOf([double.NaN]));
        Assert.Null(shape.CellOf([null]));
    }

    [Fact]
    public void IntegerBins_AtTheEdgesOfLong_DoNotOverflow()
    {
        var shape = QueryShape.Create(Valid with { GroupBy = [new("x", Bins: new IntegerBinsRequest(long.MinValue, long.MaxValue, long.MaxValue))] });

        Assert.Equal(3, shape.CellCount);
        Assert.Equal(0, shape.CellOf([long.MinValue]));
        Assert.Equal(2, shape.CellOf([long.MaxValue - 1]));
        Assert.Null(shape.CellOf([long.MaxValue]));
        Assert.Equal($"[{long.MaxValue - 1}, {long.MaxValue})", shape.CellLabels(2)[0]);
    }

    [Theory]
    [InlineData("day", "2024-02-27", "2024-03-02", new[] { "2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01" })]
    [InlineData("month", "2023-11-01", "2024-02-01", new[] { "2023-11", "2023-12", "2024-01" })]
    [InlineData("YEAR", "2020-01-01", "2023-01-01", new[] { "2020", "2021", "2022" })]
    public void DateBins_HaveOneLabelPerUnit(string unit, string from, string to, string[] labels)
    {
        var shape = QueryShape.Create(Valid with { GroupBy = [new("d", DateBins: new DateBinsRequest(from, to, unit))] });

        Assert.Equal(labels, Enumerable.Range(0, shape.CellCount).Select(c => shape.CellLabels(c)[0]));
    }

    [Fact]
    public void DateBins_TakeDatesTimestampsAndIsoStrings()
    {
        var shape = QueryShape.Create(Valid with { GroupBy = [new("d", DateBins: new DateBinsRequest("2024-01-01", "2024-04-01", "month"))] });

        Assert.Equal(0, shape.CellOf(["2024-01-01"]));
        Assert.Equal(0, shape.CellOf(["2024-01-31 23:59:59"]));
        Assert.Equal(1, shape.CellOf(["2024-02-29T10:00:00.123Z"]));
        Assert.Equal(1, shape.CellOf(["2024-02-01T00:30:00+05:00"])); // the date as written
        Assert.Equal(1, shape.CellOf([new DateTime(2024, 2, 29, 23, 0, 0)]));
        Assert.Equal(2, shape.CellOf([new DateOnly(2024, 3, 31)]));
        Assert.Equal(2, shape.CellOf([new DateTimeOffset(2024, 3, 1, 1, 0, 0, TimeSpan.FromHours(9))]));
        Assert.Null(shape.CellOf(["2024-04-01"]));
        Assert.Null(shape.CellOf(["2023-12-31T23:59:59"]));
        Assert.Null(shape.CellOf(["2024-02-30"]));
        Assert.Null(shape.CellOf(["03/01/2024"]));
        Assert.Null(shape.CellOf(["2024-03-01junk"]));
        Assert.Null(shape.CellOf([20240301L]));
    }

    [Fact]
    public void ZeroGroupBy_IsOneCell()
    {
        var shape = QueryShape.Create(Valid with { GroupBy = [] });

        Assert.Equal(1, shape.CellCount);
        Assert.Empty(shape.KeyColumns);
        Assert.Empty(shape.CellLabels(0));
        Assert.Equal(0, shape.CellOf([]));
    }

    [Fact]
    public void OverflowCheck_AgreesWithTheCodecAt50Parties()
    {
        // (q − 1)/2 / 50 / 10^4 ≈ 2.3·10^12: a sum bound just below passes both, just above is refused by both.
        const double Fits = 2.3e12, Overflows = 2.4e12;
        var fits = QueryShape.Create(Valid with { Aggregates = [new("n", "count"), new("s", "sum", -Fits, Fits)] });
        var codec = new FixedPointCodec(PrimeField.Default, Layout(fits.ValueRoundFields(1)), SessionLimits.MaxFederatedPods);

        Assert.Equal(SessionLimits.MaxFederatedPods, codec.PartyCount);
        Assert.Throws<QuerySpecException>(() => QueryShape.Create(Valid with { Aggregates = [new("n", "count"), new("s", "sum", -Overflows, 0)] }));
        Assert.Throws<InputRejectedException>(() => new FixedPointCodec(
            PrimeField.Default, Layout([new AggregationFieldRequest("s", 1, -Overflows, 0, QueryShape.DefaultPrecision)]), SessionLimits.MaxFederatedPods));
    }

    private static VectorLayout Layout(IEnumerable<AggregationFieldRequest> fields) =>
        new(fields.Select(f => new FieldSpec(f.Name, f.Length, f.Precision ?? FieldSpec.DefaultPrecision, f.Min, f.Max)));
}
