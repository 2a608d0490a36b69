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
