using System.Text;
using System.Text.Json;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Query;

namespace Smpc.Protocols.Tests.Federated.Query;

public sealed class QueryReleaseTests
{
    // Two cells: (north), (south, with a comma in its label); counts n and k, a sum and a mean weighted by k.
    private static readonly QueryShape Shape = QueryShape.Create(new QueryRequest(
        "SELECT 1", "visits",
        [new GroupByRequest("region", Values: ["north", "south, far"])],
        [
            new QueryAggregateRequest("n", "count"),
            new QueryAggregateRequest("total", "sum", -100, 100),
            new QueryAggregateRequest("k", "count"),
            new QueryAggregateRequest("mean_k", "mean", 0, 10, CountColumn: "k"),
        ],
        MinPooledCount: 5));

    [Fact]
    public void Decide_ReleasesCellsWhosePooledPrimaryCountReachesTheMinimum()
    {
        var release = QueryRelease.Decide(Shape, Counts([5, 4], [1, 9], [0, 2]), 5);

        Assert.Equal([5L, 4L], release.PooledCounts);
        Assert.Equal([0L, 2L], release.SuppressedOn);
        Assert.Equal([0], release.ReleasedCells);
        Assert.Equal([0, 1], QueryRelease.Decide(Shape, Counts([5, 4], [1, 9], [0, 2]), 0).ReleasedCells);
        Assert.Equal([0, 1], QueryRelease.Decide(Shape, Counts([0, 0], [0, 0], [0, 0]), 0).ReleasedCells);
    }

    [Fact]
    public void Decide_RefusesSumsNoHonestRoundProduces()
    {
        Assert.Throws<InvalidDataException>(() => QueryRelease.Decide(Shape, Counts([5, -1], [0, 0], [0, 0]), 5));
        Assert.Throws<InvalidDataException>(() => QueryRelease.Decide(Shape, Counts([5, 1.5], [0, 0], [0, 0]), 5));
        Assert.Throws<InvalidDataException>(() => QueryRelease.Decide(Shape, Counts([5], [0], [0]), 5));
        Assert.Throws<InvalidDataException>(() => QueryRelease.Decide(Shape, Counts([5, 1], [0, 0], [0, 51]), 5));
        Assert.Throws<InvalidDataException>(() => QueryRelease.Decide(Shape, new Dictionary<string, double[]> { ["n"] = [1, 1] }, 5));
    }

    [Fact]
    public void Refusal_AcceptsAnHonestRelease_AndNamesEachLie()
    {
        var own = new PodQueryResult([[3, 2], [1, 1]], [[1, 2], [3, 4]], [false, false], 2);
        QueryRelease Release(long[] pooled, int[] released) => new(pooled, [0, 0], released);

        Assert.Null(QueryRelease.Refusal(Shape, Release([5, 4], [0]), own, 5));
        Assert.Equal("cell (region=south, far) is released with a pooled count of 4, below the minimum 5",
            QueryRelease.Refusal(Shape, Release([5, 4], [0, 1]), own, 5));
        Assert.Equal("cell (region=north) is released with a pooled count below this pod's own count",
            QueryRelease.Refusal(Shape, Release([2, 4], [0]), own, 0));
        Assert.Equal("the released cells are not distinct cells of the query in increasing order",
            QueryRelease.Refusal(Shape, Release([5, 5], [1, 0]), own, 5));
        Assert.Equal("the released cells are not distinct cells of the query in increasing order",
            QueryRelease.Refusal(Shape, Release([5, 5], [2]), own, 5));
        Assert.Equal("the released counts do not have the query's 2 cells",
            QueryRelease.Refusal(Shape, Release([5], [0]), own, 5));
        Assert.Equal("the released counts are incomplete",
            QueryRelease.Refusal(Shape, new QueryRelease(null!, [0, 0], [0]), own, 5));
    }

    [Fact]
    public void PodVectors_FollowTheFieldOrder_AndOnlyTheReleasedCells()
    {
        var own = new PodQueryResult([[3, 0], [1, 0]], [[-1.5, 0], [7, 0]], [false, true], 2);

        Assert.Equal([3.0, 0, 1, 0, 0, 1], QueryRoundInputs.CountRoundInput(own));
        Assert.Equal([-1.5, 7], QueryRoundInputs.ValueRoundInput(own, [0]));
        Assert.Equal([-1.5, 0, 7, 0], QueryRoundInputs.ValueRoundInput(own, [0, 1]));
        Assert.Throws<ArgumentException>(() => QueryRoundInputs.ValueRoundInput(own, [1, 1]));
    }

    [Fact]
    public void ResultTable_PoolsMeansOverTheirCountColumn_AndWithholdsValuesButNotCounts()
    {
        var counts = Counts([8, 3], [4, 1], [0, 1]);
        var release = QueryRelease.Decide(Shape, counts, 5);
        var table = QueryResultTable.Build(Shape, release, counts, new Dictionary<string, double[]> { ["total"] = [-12.25], ["mean_k"] = [10] });

        Assert.Equal(["region", "n", "total", "k", "mean_k", "withheld", "suppressed_on"], table.Header);
        Assert.Equal(new QueryResultRow(0, ["north"], [8, -12.25, 4, 2.5], false, 0), table.Rows[0], RowComparer.Instance);
        Assert.Equal(new QueryResultRow(1, ["south, far"], [3, null, 1, null], true, 1), table.Rows[1], RowComparer.Instance);

        using var csv = new StringWriter();
        table.WriteCsv(csv);
        Assert.Equal("region,n,total,k,mean_k,withheld,suppressed_on\nnorth,8,-12.25,4,2.5,false,0\n\"south, far\",3,,1,,true,1\n", csv.ToString());

        using var stream = new MemoryStream();
        table.WriteJson(stream);
        using var json = JsonDocument.Parse(stream.ToArray());
        var rows = json.RootElement.GetProperty("rows");
        Assert.Equal(["region"], json.RootElement.GetProperty("keyColumns").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("mean", json.RootElement.GetProperty("aggregates")[3].GetProperty("kind").GetString());
        Assert.Equal("south, far", rows[1].GetProperty("keys").GetProperty("region").GetString());
        Assert.Equal(8, rows[0].GetProperty("values").GetProperty("n").GetInt64());
        Assert.Equal(2.5, rows[0].GetProperty("values").GetProperty("mean_k").GetDouble());
        Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("values").GetProperty("total").ValueKind);
        Assert.True(rows[1].GetProperty("withheld").GetBoolean());
        Assert.Equal(1, rows[1].GetProperty("suppressedOn").GetInt64());
    }

    [Fact]
    public void ResultTable_MeanOverNoRows_IsNull_AndMissingValueRoundIsRefused()
    {
        var counts = Counts([0, 6], [0, 0], [0, 0]);
        var release = QueryRelease.Decide(Shape, counts, 0);

        var table = QueryResultTable.Build(Shape, release, counts, new Dictionary<string, double[]> { ["total"] = [0, 0], ["mean_k"] = [0, 0] });

        Assert.Equal([0, 0, 0, null], table.Rows[0].Values);
        Assert.Equal([6, 0, 0, null], table.Rows[1].Values);
        Assert.Throws<InvalidDataException>(() => QueryResultTable.Build(Shape, release, counts, null));
        Assert.Throws<InvalidDataException>(() => QueryResultTable.Build(Shape, release, counts, new Dictionary<string, double[]> { ["total"] = [0], ["mean_k"] = [0] }));
    }

    [Fact]
    public void Release_RoundTripsThroughWebJson()
    {
        var release = new QueryRelease([5, 4], [0, 2], [0]);
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);

        var text = JsonSerializer.Serialize(release, options);
        var back = JsonSerializer.Deserialize<QueryRelease>(System.Text.Encoding.UTF8.GetBytes(text), options)!;

        Assert.Equal("""{"pooledCounts":[5,4],"suppressedOn":[0,2],"releasedCells":[0]}""", text);
        Assert.Equal(release.PooledCounts, back.PooledCounts);
        Assert.Equal(release.SuppressedOn, back.SuppressedOn);
        Assert.Equal(release.ReleasedCells, back.ReleasedCells);
    }

    private static Dictionary<string, double[]> Counts(double[] n, double[] k, double[] suppressed) =>
        new() { ["n"] = n, ["k"] = k, [QueryShape.SuppressedField] = suppressed };

    private sealed class RowComparer : IEqualityComparer<QueryResultRow>
    {
        public static readonly RowComparer Instance = new();

        public bool Equals(QueryResultRow? x, QueryResultRow? y) =>
            x is not null && y is not null && x.Cell == y.Cell && x.Keys.SequenceEqual(y.Keys) && x.Values.SequenceEqual(y.Values)
            && x.Withheld == y.Withheld && x.SuppressedOn == y.SuppressedOn;

        public int GetHashCode(QueryResultRow obj) => obj.Cell;
    }
}
