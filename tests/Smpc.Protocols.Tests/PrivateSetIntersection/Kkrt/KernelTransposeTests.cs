using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Protocols.Tests.PrivateSetIntersection.Kkrt;

/// <summary>The 512 × m bit transpose of kkrt-v1 step 5 (vectorised and portable) against the naive bit loop of the spec.</summary>
public sealed class KernelTransposeTests
{
    public static TheoryData<int, int> Shapes => new()
    {
        { 8, 0 }, { 16, 0 }, { 120, 0 }, { 128, 0 }, { 136, 0 }, { 256, 0 }, { 1000 + 8, 0 }, { 2048, 0 }, { 2048 + 56, 0 },
        { 8, 3 }, { 128, 16 }, { 1000 + 8, 5 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ColumnsToRows_MatchesTheNaiveBitLoop(int bins, int extraStride)
    {
        var random = new DeterministicTestRandom(bins * 31 + extraStride);
        var stride = bins / 8 + extraStride;
        var columns = new byte[KkrtParameters.CodeBits * stride];
        random.Fill(columns);
        var expected = Naive(columns, stride, bins);

        var rows = new byte[bins * KkrtParameters.RowBytes];
        random.Fill(rows); // stale contents must be overwritten, not OR-ed into
        BitMatrix.ColumnsToRows(columns, stride, bins, rows);
        Assert.Equal(Hex.Of(expected), Hex.Of(rows));

        var portable = new byte[bins * KkrtParameters.RowBytes];
        random.Fill(portable);
        BitMatrix.TransposePortable(columns, stride, bins, portable);
        Assert.Equal(Hex.Of(expected), Hex.Of(portable));
    }

    [Fact]
    public void ColumnsToRows_SingleBit_LandsAtItsRowAndColumn()
    {
        const int bins = 256;
        foreach (var (j, b) in new[] { (0, 0), (511, 255), (17, 130), (300, 7), (31, 128), (32, 127) })
        {
            var columns = new byte[KkrtParameters.CodeBits * bins / 8];
            columns[j * (bins / 8) + (b >> 3)] = (byte)(1 << (b & 7));
            var rows = new byte[bins * KkrtParameters.RowBytes];
            BitMatrix.ColumnsToRows(columns, bins / 8, bins, rows);
            var expected = new byte[rows.Length];
            expected[b * KkrtParameters.RowBytes + (j >> 3)] = (byte)(1 << (j & 7));
            Assert.Equal(Hex.Of(expected), Hex.Of(rows));
        }
    }

    [Fact]
    public void ColumnsToRows_RefusesBadShapes()
    {
        Assert.Throws<ArgumentException>(() => BitMatrix.ColumnsToRows(new byte[512], 1, 7, new byte[7 * 64]));
        Assert.Throws<ArgumentOutOfRangeException>(() => BitMatrix.ColumnsToRows(new byte[1024], 1, 16, new byte[16 * 64]));
        Assert.Throws<ArgumentException>(() => BitMatrix.ColumnsToRows(new byte[511], 1, 8, new byte[8 * 64]));
        Assert.Throws<ArgumentException>(() => BitMatrix.ColumnsToRows(new byte[512], 1, 8, new byte[8 * 64 - 1]));
    }

    // The spec's definition: bit j of row b = bit b of column j, LSB-first in both.
    private static byte[] Naive(byte[] columns, int stride, int bins)
    {
        var rows = new byte[bins * KkrtParameters.RowBytes];
        for (var j = 0; j < KkrtParameters.CodeBits; j++)
        {
            for (var b = 0; b < bins; b++)
            {
                var bit = (columns[j * stride + (b >> 3)] >> (b & 7)) & 1;
                rows[b * KkrtParameters.RowBytes + (j >> 3)] |= (byte)(bit << (j & 7));
            }
        }

        return rows;
    }
}
