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

    [Fact]
    public void EncodeInteger_AboveTwoToThe53_ComparesExactly_SoTheSumCannotWrap()
    {
        // 3 × 384307168202282325 = (q − 1)/2 for q = 2^61 − 1 exactly. As a double the bound is
        // 384307168202282304, and bound + 10 rounds to that same double: a double comparison lets it in.
        const long bound = 384_307_168_202_282_325;
        var codec = new FixedPointCodec(PrimeField.Default, VectorLayout.Single(FieldSpec.Integer("big", 1, -bound, bound)), 3);

        Assert.Equal(ProtocolError.ValueOutOfBounds, Assert.Throws<InputRejectedException>(() => codec.EncodeInteger(0, bound + 10)).Error);
        Assert.Equal(ProtocolError.ValueOutOfBounds, Assert.Throws<InputRejectedException>(() => codec.EncodeInteger(0, -bound - 10)).Error);

        // The largest accepted value is the bound's exact double value; three of them sum without wrapping.
        const long largest = 384_307_168_202_282_304;
        Assert.Equal(ProtocolError.ValueOutOfBounds, Assert.Throws<InputRejectedException>(() => codec.EncodeInteger(0, largest + 1)).Error);
        var sum = new ulong[1];
        for (var p = 0; p < 3; p++)
        {
            PrimeField.Default.AddInPlace(sum, [codec.EncodeInteger(0, largest)]);
        }

        Assert.Equal(3 * largest, codec.DecodeInteger(sum[0]));
    }

    [Theory]
    [InlineData(123.456789, "123.456789")]
    [InlineData(-98765.4321, "98765.4321")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    [InlineData(double.NegativeInfinity, "∞")]
    public void Refusals_NameTheFieldAndBounds_ButNotTheRejectedValue(double value, string forbidden)
    {
        var codec = new FixedPointCodec(PrimeField.Default, VectorLayout.Single(FieldSpec.Real("salary", 2, -10, 10)), 3);
        foreach (var ex in new[]
        {
            Assert.Throws<InputRejectedException>(() => codec.Encode([0.0, value])),
            Assert.Throws<InputRejectedException>(() => codec.EncodeValue(0, value)),
        })
        {
            Assert.Equal("salary", ex.Field);
            Assert.Contains("'salary'", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(forbidden, ex.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(value.ToString("R", System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.OrdinalIgnoreCase);
        }

        var bounded = Assert.Throws<InputRejectedException>(() => codec.Encode([0.0, 11.0]));
        Assert.Contains("[-10, 10]", bounded.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IntegerRefusal_DoesNotEchoTheRejectedValue()
    {
        var codec = new FixedPointCodec(PrimeField.Default, VectorLayout.Single(FieldSpec.Integer("count", 1, -100, 100)), 3);
        var ex = Assert.Throws<InputRejectedException>(() => codec.EncodeInteger(0, 987_654_321));
        Assert.Equal(ProtocolError.ValueOutOfBounds, ex.Error);
        Assert.Equal("count", ex.Field);
        Assert.DoesNotContain("987654321", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[-100, 100]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckEncoded_AcceptsExactlyTheScaledRange_AroundZeroAndTheSignedMidpoint()
    {
        // Scaled range [−20, 20] in Z_1009: canonical elements 0..20 and 989..1008; (q − 1)/2 = 504 is the signed midpoint.
        var codec = new FixedPointCodec(Q1009, VectorLayout.Single(new FieldSpec("x", 1, 10, -2, 2)), 2);
        var reference = new Func<ulong, bool>(e => Q1009.ToSigned(e) is >= -20 and <= 20);
        foreach (var element in new ulong[] { 0, 1, 19, 20, 21, 503, 504, 505, 506, 987, 988, 989, 990, 1007, 1008 })
        {
            var accepted = Record.Exception(() => codec.CheckEncoded([element])) is null;
            Assert.Equal(reference(element), accepted);
        }

        Assert.Equal(ProtocolError.Malformed, Assert.Throws<InputRejectedException>(() => codec.CheckEncoded([1009UL])).Error);
    }

    [Fact]
    public void CheckEncoded_DefaultField_RefusesTheFarEndsOfTheSignedRange()
    {
        var field = PrimeField.Default;
        var codec = new FixedPointCodec(field, VectorLayout.Single(FieldSpec.Integer("c", 1, -100, 100)), 3);
        foreach (var (element, ok) in new (ulong, bool)[]
                 {
                     (0, true), (100, true), (101, false), (field.MaxSigned, false), (field.MaxSigned + 1, false),
                     (field.Modulus - 101, false), (field.Modulus - 100, true), (field.Modulus - 1, true),
                 })
        {
            var ex = Record.Exception(() => codec.CheckEncoded([element]));
            Assert.True(ok ? ex is null : ex is InputRejectedException { Error: ProtocolError.ValueOutOfBounds }, $"element {element}");
        }
    }
}
