using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection.Kkrt;

/// <summary>The ristretto255 addition and subtraction added for the Masny–Rindal base OTs.</summary>
public sealed class KkrtGroupTests
{
    [Fact]
    public void AddAndSubtract_AgreeWithScalarArithmetic()
    {
        var random = new DeterministicTestRandom(21);
        var x = Ristretto255.RandomScalar(random);
        var p = Ristretto255.MultiplyBase(x);
        var two = new byte[32];
        two[0] = 2;
        var three = new byte[32];
        three[0] = 3;
        var sum = new byte[32];
        Assert.True(Ristretto255.TryAdd(p, p, sum));
        var expected = new byte[32];
        Ristretto255.Multiply(two, p, expected);
        Assert.Equal(expected, sum);

        var tripled = new byte[32];
        Assert.True(Ristretto255.TryAdd(sum, p, tripled));
        Ristretto255.Multiply(three, p, expected);
        Assert.Equal(expected, tripled);

        var back = new byte[32];
        Assert.True(Ristretto255.TrySubtract(tripled, sum, back));
        Assert.Equal(p, back);

        // P − P is the identity (32 zero bytes), which IsValid refuses.
        var zero = new byte[32];
        Assert.True(Ristretto255.TrySubtract(p, p, zero));
        Assert.Equal(new byte[32], zero);
        Assert.False(Ristretto255.IsValid(zero));
    }

    [Fact]
    public void AddAndSubtract_RefuseNonCanonicalInputsAndWrongSizes()
    {
        var p = Ristretto255.MultiplyBase(Ristretto255.RandomScalar(new DeterministicTestRandom(22)));
        var bad = Enumerable.Repeat((byte)0xff, 32).ToArray();
        var result = new byte[32];
        Assert.False(Ristretto255.TryAdd(p, bad, result));
        Assert.False(Ristretto255.TrySubtract(bad, p, result));
        Assert.False(Ristretto255.TryAdd(p, p.AsSpan(0, 31), result));
        Assert.False(Ristretto255.TrySubtract(p, p, new byte[31]));
    }
}

/// <summary>The pod's tag sort (bucketed by the top bits) against a plain sort, on uniform and on skewed tags.</summary>
public sealed class KkrtTagSortTests
{
    [Theory]
    [InlineData(0, false)]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(1000, false)]
    [InlineData(100_000, false)]
    [InlineData(5000, true)]
    public void SortTags_IsAscending_AndKeepsEveryTag(int count, bool skewed)
    {
        var random = new DeterministicTestRandom(count);
        var bytes = new byte[count * 16];
        random.Fill(bytes);
        var tags = new UInt128[count];
        for (var k = 0; k < count; k++)
        {
            tags[k] = System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes.AsSpan(k * 16, 16));
            if (skewed)
            {
                tags[k] >>= 40; // all in the lowest buckets, with repeats below
                tags[k] &= ~(UInt128)0xff;
            }
        }

        var expected = (UInt128[])tags.Clone();
        Array.Sort(expected);
        Smpc.Protocols.PrivateSetIntersection.Kkrt.KkrtPrimitives.SortTags(tags);
        Assert.Equal(expected, tags);
    }
}
