using Smpc.Protocols.Encoding;
using Smpc.Protocols.Field;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Tests.SecureAggregation;

/// <summary>Weighted means: pods supply x and w separately, the layout forms w·x exactly, the modeller gets Σw and Σ w·x / Σ w.</summary>
public sealed class WeightedMeanTests
{
    private static WeightedMeanLayout Layout(int n, long xPrecision = 10_000, WeightSpec? weight = null, PrimeField? field = null) =>
        new([new FieldSpec("theta", 3, xPrecision, -100, 100), new FieldSpec("loss", 1, xPrecision, 0, 10)], weight ?? new WeightSpec(0.01, 10_000, 100), n, field);

    [Fact]
    public void Encode_KnownAnswer_MultipliesQuantisedXByTheIntegerWeightAndAppendsIt()
    {
        var layout = new WeightedMeanLayout([new FieldSpec("x", 2, 10, -1, 1)], new WeightSpec(1, 10), 3, PrimeField.Create(1009));

        // X = round_half_even(x · 10) = [5, −2], W = 3: the wire vector is [15, −6 mod 1009, 3]; 3 pods · 10 · 10 ≤ 504 fits.
        Assert.Equal(new ulong[] { 15, 1009 - 6, 3 }, layout.Encode([0.5, -0.25], 3));
        Assert.Equal(["x", WeightedMeanLayout.WeightFieldName], layout.WireLayout.Fields.Select(f => f.Name));
        var wire = layout.WireLayout.Fields[0];
        Assert.Equal(10, wire.Precision);
        Assert.Equal(-10, wire.Min);
        Assert.Equal(10, wire.Max);
    }

    [Fact]
    public void RoundTrip_WithADropout_GivesSumOfWeightsAndTheExactDecimalWeightedMeanOfTheIncludedPods()
    {
        var layout = Layout(5);
        using var session = new SessionHarness(5, 3, layout.WireLayout, seed: 41);
        var random = new DeterministicTestRandom(7);

        // x with at most 4 decimals (the declared precision) and weights in hundredths, drawn as exact decimals.
        var x = new Dictionary<int, decimal[]>();
        var w = new Dictionary<int, decimal>();
        var encoded = new Dictionary<int, ulong[]>();
        for (var p = 1; p <= 5; p++)
        {
            x[p] = [.. Enumerable.Range(0, 3).Select(_ => random.NextInt(-1_000_000, 1_000_001) / 10_000m), random.NextInt(0, 100_001) / 10_000m];
            w[p] = random.NextInt(1, 1_000_000) / 100m;
            encoded[p] = layout.Encode([.. x[p].Select(v => (double)v)], (double)w[p]);
        }

        // Pod 5 never uploads; pod 4 uploads and then drops, so it is still in the sum.
        var result = layout.Decode(session.RunEncoded(encoded, new Dictionary<int, int> { [5] = 3, [4] = 4 }));

        int[] included = [1, 2, 3, 4];
        Assert.Equal(included, result.IncludedParties);
        Assert.Equal(included.Sum(p => w[p]), result.WeightSum);
        var expected = Enumerable.Range(0, 4).Select(k => included.Sum(p => w[p] * x[p][k]) / included.Sum(p => w[p])).ToArray();
        var got = result.Means["theta"].Concat(result.Means["loss"]).ToArray();
        for (var k = 0; k < 4; k++) Assert.True(Math.Abs(got[k] - expected[k]) < 1e-20m, $"element {k}: {got[k]} vs {expected[k]}");
        Assert.Equal((double)expected[3], result.Mean("loss")[0], 12);
    }

    [Fact]
    public void Encode_ChecksXAndWeightEachAgainstTheirOwnBounds_RefusingLoudlyWithoutTheValue()
    {
        var layout = Layout(3);
        double[] x = [1, 2, 3, 4];

        // w·x = 10 000 · 100 is far above x's bound but fine: the bounds apply to x and to w separately.
        Assert.Equal(5, layout.Encode([100, -100, 100, 10], 10_000).Length);

        var cases = new (double[] X, double W, ProtocolError Error, string Field)[]
        {
            ([1, 2, 123.5, 4], 1, ProtocolError.ValueOutOfBounds, "theta"),
            ([1, 2, 3, 10.5], 1, ProtocolError.ValueOutOfBounds, "loss"),
            ([1, double.NaN, 3, 4], 1, ProtocolError.NonFiniteValue, "theta"),
            (x, 20_000.5, ProtocolError.ValueOutOfBounds, "weight"),
            (x, 0, ProtocolError.ValueOutOfBounds, "weight"),
            (x, -3, ProtocolError.ValueOutOfBounds, "weight"),
            (x, double.NaN, ProtocolError.NonFiniteValue, "weight"),
            (x, double.PositiveInfinity, ProtocolError.NonFiniteValue, "weight"),
            (x, 2.345, ProtocolError.ValueOutOfBounds, "weight"), // finer than the weight's precision 1/100: refused, not rounded
        };
        foreach (var (values, weight, error, field) in cases)
        {
            var refused = Assert.Throws<InputRejectedException>(() => layout.Encode(values, weight));
            Assert.Equal(error, refused.Error);
            Assert.Equal(field, refused.Field);
            Assert.DoesNotContain("123.5", refused.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("20000.5", refused.Message, StringComparison.Ordinal);
        }

        Assert.Throws<InputRejectedException>(() => layout.Encode([1, 2, 3, 4, 5], 1)); // x with the weight appended: the old shape
    }

    [Fact]
    public void Create_RefusesAShapeWhoseWTimesXSumCannotFitTheField_SayingWhatToLower()
    {
        // |x| ≤ 100 at 10^10, w ≤ 10^6 at precision 1, three pods: 3 · 10^12 · 10^6 > (2^61 − 2)/2.
        var refused = Assert.Throws<InputRejectedException>(() =>
            new WeightedMeanLayout([FieldSpec.Real("theta", 2, -100, 100)], new WeightSpec(1, 1_000_000), 3));

        Assert.Equal(ProtocolError.BoundsExceedFieldRange, refused.Error);
        Assert.Equal("theta", refused.Field);
        Assert.Contains("w·x", refused.Message, StringComparison.Ordinal);
        Assert.Contains("lower the field's precision or bounds, or the weight's maximum or precision", refused.Message, StringComparison.Ordinal);

        // The same shape at precision 10^6 fits: 3 · 10^8 · 10^6 ≤ 1.15 · 10^18.
        _ = new WeightedMeanLayout([new FieldSpec("theta", 2, 1_000_000, -100, 100)], new WeightSpec(1, 1_000_000), 3);
    }

    [Theory]
    [InlineData(0, 10, 1)]
    [InlineData(-1, 10, 1)]
    [InlineData(0.001, 10, 100)] // below 1/precision: would quantise to 0
    [InlineData(5, 4, 1)]
    [InlineData(1, double.PositiveInfinity, 1)]
    public void Create_RefusesAWeightThatIsNotPositiveAndBounded(double min, double max, long precision)
    {
        var refused = Assert.Throws<InputRejectedException>(() => new WeightedMeanLayout([new FieldSpec("x", 1, 100, -1, 1)], new WeightSpec(min, max, precision), 3));
        Assert.Equal("weight", refused.Field);
    }

    [Fact]
    public void Create_RefusesAValueFieldNamedWeight_TheOldShape()
    {
        var refused = Assert.Throws<InputRejectedException>(() =>
            new WeightedMeanLayout([new FieldSpec("x", 2, 100, -1, 1), new FieldSpec("weight", 1, 1, 0, 100)], new WeightSpec(1, 100), 3));
        Assert.Contains("reserved", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WireBounds_CoverTheExactIntegerProductRange_SoNoValidInputIsRefusedByTheSessionCodec()
    {
        // Awkward bounds and precisions whose real products are not representable as doubles.
        var layout = new WeightedMeanLayout([new FieldSpec("x", 2, 1_000_003, -0.3, 0.7)], new WeightSpec(0.07, 123_456.79, 100), 4);
        using var session = new SessionHarness(4, 3, layout.WireLayout, seed: 5);

        var encoded = new Dictionary<int, ulong[]>
        {
            [1] = layout.Encode([-0.3, 0.7], 123_456.79),
            [2] = layout.Encode([0.7, -0.3], 0.07),
            [3] = layout.Encode([0, 0.1], 1),
            [4] = layout.Encode([-0.3, 0.7], 123_456.79),
        };
        var result = layout.Decode(session.RunEncoded(encoded, new Dictionary<int, int>()));

        Assert.Equal(123_456.79m * 2 + 0.07m + 1, result.WeightSum);
    }
}
