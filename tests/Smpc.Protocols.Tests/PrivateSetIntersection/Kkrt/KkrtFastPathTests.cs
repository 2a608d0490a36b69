using System.Buffers.Binary;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Protocols.Tests.PrivateSetIntersection.Kkrt;

/// <summary>The parties' fast paths (bucket sort, bucket index, 16-byte tag reads and writes, batched positions) against plain references.</summary>
public sealed class KkrtFastPathTests
{
    public enum Shape
    {
        Uniform,
        AllEqual,
        Descending,
        FewDistinct,
        BucketsOfSixteen,
        BucketsOfSeventeen,
        OneBucket,
    }

    [Theory]
    [InlineData(Shape.Uniform, 3)]
    [InlineData(Shape.Uniform, 70_000)]
    [InlineData(Shape.AllEqual, 5_000)]
    [InlineData(Shape.Descending, 20_000)]
    [InlineData(Shape.FewDistinct, 20_000)]
    [InlineData(Shape.BucketsOfSixteen, 4_096)]
    [InlineData(Shape.BucketsOfSeventeen, 4_352)]
    [InlineData(Shape.OneBucket, 10_000)]
    public void SortTags_AgreesWithArraySort(Shape shape, int count)
    {
        var tags = MakeTags(shape, count, seed: count);
        var expected = (UInt128[])tags.Clone();
        Array.Sort(expected);
        KkrtPrimitives.SortTags(tags);
        Assert.Equal(expected, tags);
    }

    [Theory]
    [InlineData(Shape.Uniform, 0)]
    [InlineData(Shape.Uniform, 1)]
    [InlineData(Shape.Uniform, 50_000)]
    [InlineData(Shape.AllEqual, 1_000)]
    [InlineData(Shape.FewDistinct, 10_000)]
    [InlineData(Shape.BucketsOfSeventeen, 4_352)]
    [InlineData(Shape.OneBucket, 10_000)]
    public void TagIndex_AgreesWithBinarySearch(Shape shape, int count)
    {
        var list = MakeTags(shape, count, seed: 7 + count);
        Array.Sort(list);
        var index = new KkrtTagIndex(list);

        // Probes: every listed tag, its neighbours (absent unless listed too) and fresh random tags.
        var probes = new List<UInt128>(list);
        probes.AddRange(list.Select(t => t + 1));
        probes.AddRange(list.Select(t => t - 1));
        probes.AddRange(MakeTags(Shape.Uniform, 2_000, seed: 99));
        probes.Add(UInt128.Zero);
        probes.Add(UInt128.MaxValue);
        foreach (var probe in probes)
        {
            Assert.Equal(Array.BinarySearch(list, probe) >= 0, index.Contains(probe));
        }
    }

    [Fact]
    public void WriteTagsAndReadTags_AgreeWithOneTagAtATime_AndStayInsideTheirBuffer()
    {
        var random = new DeterministicTestRandom(5);
        for (var tagBytes = 1; tagBytes <= 16; tagBytes++)
        {
            foreach (var count in new[] { 0, 1, 2, 3, 17 })
            {
                var tags = new UInt128[count];
                var expected = new byte[count * tagBytes];
                random.Fill(expected);
                for (var k = 0; k < count; k++)
                {
                    tags[k] = KkrtPrimitives.ReadTag(expected.AsSpan(k * tagBytes, tagBytes));
                }

                // Sentinels on both sides of the destination.
                var buffer = new byte[(count * tagBytes) + 40];
                Array.Fill(buffer, (byte)0xA5);
                KkrtPrimitives.WriteTags(tags, tagBytes, buffer.AsSpan(20, count * tagBytes));
                Assert.Equal(expected, buffer.AsSpan(20, count * tagBytes).ToArray());
                Assert.All(buffer.AsSpan(0, 20).ToArray(), b => Assert.Equal(0xA5, b));
                Assert.All(buffer.AsSpan(20 + (count * tagBytes)).ToArray(), b => Assert.Equal(0xA5, b));

                // Reading from inside a longer buffer must not pick up the bytes after each tag.
                var read = new UInt128[count];
                KkrtPrimitives.ReadTags(buffer.AsSpan(20, count * tagBytes), tagBytes, read);
                Assert.Equal(tags, read);
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1023)]
    [InlineData(1024)]
    [InlineData(1025)]
    [InlineData(3000)]
    public void Positions_AgreeWithTheOneItemKernel(int count)
    {
        var random = new DeterministicTestRandom(count + 3);
        var digests = new byte[count * 16];
        random.Fill(digests);
        const long Bins = 98_560;
        using var aes = new Aes128Ecb(random.NextBytes(16));
        var batch = new int[count * 3];
        KkrtPrimitives.Positions(aes, digests, Bins, batch);
        Span<long> one = stackalloc long[3];
        for (var k = 0; k < count; k++)
        {
            KkrtKernels.CuckooPositions(aes, digests.AsSpan(k * 16, 16), Bins, one);
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(one[i], batch[(3 * k) + i]);
            }
        }
    }

    private static UInt128[] MakeTags(Shape shape, int count, int seed)
    {
        var random = new DeterministicTestRandom(seed);
        var bytes = new byte[count * 16];
        random.Fill(bytes);
        var tags = new UInt128[count];
        for (var k = 0; k < count; k++)
        {
            var x = BinaryPrimitives.ReadUInt128BigEndian(bytes.AsSpan(k * 16, 16));
            tags[k] = shape switch
            {
                Shape.Uniform => x,
                Shape.AllEqual => (UInt128)0x1234 << 100,
                Shape.Descending => UInt128.MaxValue - ((UInt128)k << 90),
                Shape.FewDistinct => (x % 7) << 120,
                // Bucket sizes at and just over the insertion-sort limit: the top 11 bits (the sort's bucket bits for these counts) pick the bucket, the rest random.
                Shape.BucketsOfSixteen => ((UInt128)(k / 16) << 117) | (x >> 11),
                Shape.BucketsOfSeventeen => ((UInt128)(k / 17) << 117) | (x >> 11),
                Shape.OneBucket => x >> 40,
                _ => throw new ArgumentOutOfRangeException(nameof(shape)),
            };
        }

        return tags;
    }
}
