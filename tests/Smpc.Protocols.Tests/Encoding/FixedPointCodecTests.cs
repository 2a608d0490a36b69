using Smpc.Protocols.Encoding;
using Smpc.Protocols.Field;

namespace Smpc.Protocols.Tests.Encoding;

public sealed class FixedPointCodecTests
{
    private static readonly PrimeField Q1009 = PrimeField.Create(1009);

    [Fact]
    public void ReferenceVector_PositiveDecimals_EncodeToScaledIntegers()
    {
        var codec = new FixedPointCodec(Q1009, VectorLayout.Single(new FieldSpec("x", 3, 10, -2, 2)), 2);
        Assert.Equal(new ulong[] { 6, 7, 8 }, codec.Encode([0.6, 0.7, 0.8]));
    }

    [Fact]
    public void ReferenceVector_NegativeTenth_EncodesToQMinusOne()
    {
        var codec = new FixedPointCodec(Q1009, VectorLayout.Single(new FieldSpec("x", 1, 10, -2, 2)), 2);
        Assert.Equal(new ulong[] { 1008 }, codec.Encode([-0.1]));
    }

    [Fact]
    public void ReferenceVector_TwoPartyAverage_IsExact()
    {
        var codec = new FixedPointCodec(Q1009, VectorLayout.Single(new FieldSpec("x", 3, 10, -2, 2)), 2);
        var sum = codec.Encode([-0.9, 0.1, 1.1]);
        Q1009.AddInPlace(sum, codec.Encode([-0.1, 0.9, 1.9]));
        var mean = codec.Decode(sum).Select(v => v / 2).ToArray();
        Assert.Equal(new[] { -0.5, 0.5, 1.5 }, mean);
    }

    [Fact]
    public void IntegerField_IsExactAtItsBounds()
    {
        var layout = VectorLayout.Single(FieldSpec.Integer("count", 2, -1_000_000_000_000, 1_000_000_000_000));
        var codec = new FixedPointCodec(PrimeField.Default, layout, 20);
        var sum = new ulong[2];
        for (var p = 0; p < 20; p++)
        {
            PrimeField.Default.AddInPlace(sum, [codec.EncodeInteger(0, 999_999_999_999), codec.EncodeInteger(0, -1_000_000_000_000)]);
        }

        Assert.Equal(19_999_999_999_980, codec.DecodeInteger(sum[0]));
        Assert.Equal(-20_000_000_000_000, codec.DecodeInteger(sum[1]));
    }

    [Theory]
    [InlineData(double.NaN, ProtocolError.NonFiniteValue)]
    [InlineData(double.PositiveInfinity, ProtocolError.NonFiniteValue)]
    [InlineData(double.NegativeInfinity, ProtocolError.NonFiniteValue)]
    [InlineData(2.0000001, ProtocolError.ValueOutOfBounds)]
    [InlineData(-3, ProtocolError.ValueOutOfBounds)]
    public void Encode_RefusesNonFiniteAndOutOfBoundValues_NamingTheField(double value, ProtocolError expected)
    {
        var layout = new VectorLayout([FieldSpec.Real("ok", 1, -10, 10), FieldSpec.Real("loss", 1, -2, 2)]);
        var codec = new FixedPointCodec(PrimeField.Default, layout, 3);
        var ex = Assert.Throws<InputRejectedException>(() => codec.Encode([0.0, value]));
        Assert.Equal(expected, ex.Error);
        Assert.Equal("loss", ex.Field);
        Assert.Contains("'loss'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_RefusesBoundsWhoseSumCouldLeaveTheSignedRange_NamingFieldAndBound()
    {
        // (2^61 − 2)/2 ≈ 1.15e18; 1e8 · 1e10 · 2 parties = 2e18 is too much.
        var layout = new VectorLayout([FieldSpec.Real("small", 1, -1, 1), FieldSpec.Real("salary", 1, 0, 1e8)]);
        var ex = Assert.Throws<InputRejectedException>(() => new FixedPointCodec(PrimeField.Default, layout, 2));
        Assert.Equal(ProtocolError.BoundsExceedFieldRange, ex.Error);
        Assert.Equal("salary", ex.Field);
        Assert.Contains("100000000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_AcceptsBoundsThatJustFit()
    {
        // 504 = (1009 − 1)/2: 2 parties × 25.2 × 10 = 504.
        _ = new FixedPointCodec(Q1009, VectorLayout.Single(new FieldSpec("x", 1, 10, -25.2, 25.2)), 2);
        Assert.Throws<InputRejectedException>(() => new FixedPointCodec(Q1009, VectorLayout.Single(new FieldSpec("x", 1, 10, -25.3, 25.3)), 2));
    }

    [Fact]
    public void RandomRealVectors_SumWithinOneUlpPerParty()
    {
        var random = new DeterministicTestRandom(7);
        var codec = new FixedPointCodec(PrimeField.Default, VectorLayout.Single(FieldSpec.Real("w", 100, -100, 100)), 10);
        var sum = new ulong[100];
        var plain = new double[100];
        for (var p = 0; p < 10; p++)
        {
            var x = Enumerable.Range(0, 100).Select(_ => random.NextDouble(-100, 100)).ToArray();
            PrimeField.Default.AddInPlace(sum, codec.Encode(x));
            for (var i = 0; i < 100; i++)
            {
                plain[i] += x[i];
            }
        }

        var decoded = codec.Decode(sum);
        for (var i = 0; i < 100; i++)
        {
            Assert.InRange(decoded[i] - plain[i], -1e-9, 1e-9);
        }
    }
}
