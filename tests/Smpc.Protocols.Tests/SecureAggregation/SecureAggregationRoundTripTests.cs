using Smpc.Protocols.Encoding;
using Smpc.Protocols.Field;

namespace Smpc.Protocols.Tests.SecureAggregation;

public sealed class SecureAggregationRoundTripTests
{
    [Fact]
    public void ThreeParties_NoDropouts_GiveThePlainSumAndMean()
    {
        var layout = new VectorLayout([FieldSpec.Real("w", 5, -10, 10), FieldSpec.Integer("count", 2, 0, 1000)]);
        using var session = new SessionHarness(3, null, layout, seed: 1);
        var inputs = new Dictionary<int, double[]>
        {
            [1] = [1.5, -2.25, 0, 9.999, -10, 3, 7],
            [2] = [0.5, 0.25, 0, 0.001, 10, 4, 0],
            [3] = [1, 2, 3, 4, 5, 5, 1000],
        };

        var result = session.Run(inputs, new Dictionary<int, int>());
        Assert.Equal([1, 2, 3], result.IncludedParties);
        Assert.Equal(new[] { 3.0, 0.0, 3.0, 14.0, 5.0 }, result.Sum("w"));
        Assert.Equal(new long[] { 12, 1007 }, result.SumInteger("count"));
        Assert.Equal(new[] { 1.0, 0.0, 1.0, 14.0 / 3, 5.0 / 3 }, result.Mean("w"));
    }

    [Fact]
    public void ReferenceDesign_TwoOfThreeAverage_WithQ1009_IsExact()
    {
        // The reference vectors: q = 1009, precision 10; pod 3 drops after publishing keys.
        var layout = VectorLayout.Single(new FieldSpec("x", 3, 10, -2, 2));
        using var session = new SessionHarness(3, 2, layout, seed: 2, field: PrimeField.Create(1009));
        var inputs = new Dictionary<int, double[]> { [1] = [-0.9, 0.1, 1.1], [2] = [-0.1, 0.9, 1.9], [3] = [2, 2, 2] };
        var result = session.Run(inputs, new Dictionary<int, int> { [3] = 3 });
        Assert.Equal([1, 2], result.IncludedParties);
        Assert.Equal(new[] { -0.5, 0.5, 1.5 }, result.Mean("x"));
    }

    [Fact]
    public void Property_RandomSessionsWithDropoutsAtAnyRound_EqualThePlainSumOfIncludedParties()
    {
        var random = new DeterministicTestRandom(2024);
        for (var trial = 0; trial < 24; trial++)
        {
            var n = random.NextInt(3, 21);
            var t = random.NextInt((n / 2) + 1, n + 1);
            var length = random.NextInt(1, 40);
            var layout = new VectorLayout([FieldSpec.Integer("c", length, -1_000_000, 1_000_000), FieldSpec.Real("r", 2, -1, 1)]);
            using var session = new SessionHarness(n, t, layout, seed: 10_000 + trial, chunkElements: random.NextInt(1, 50));

            // Up to n − t dropouts, each at a random round 1..4.
            var drops = new Dictionary<int, int>();
            var dropCount = random.NextInt(0, n - t + 1);
            foreach (var party in Enumerable.Range(1, n).OrderBy(_ => random.NextInt(0, 1 << 30)).Take(dropCount))
            {
                drops[party] = random.NextInt(1, 5);
            }

            var inputs = Enumerable.Range(1, n).ToDictionary(
                i => i,
                i => Enumerable.Range(0, length).Select(_ => (double)random.NextInt(-1_000_000, 1_000_001))
                    .Concat([random.NextDouble(-1, 1), random.NextDouble(-1, 1)]).ToArray());

            var result = session.Run(inputs, drops);

            // Included: everyone who submitted a masked vector (no drop, or dropped only before responding).
            var included = Enumerable.Range(1, n).Where(i => !drops.TryGetValue(i, out var r) || r == 4).ToArray();
            Assert.Equal(included, result.IncludedParties);
            var expected = Enumerable.Range(0, length).Select(k => included.Sum(i => (long)inputs[i][k])).ToArray();
            Assert.Equal(expected, result.SumInteger("c"));
            var real = result.Sum("r");
            for (var k = 0; k < 2; k++)
            {
                Assert.Equal(included.Sum(i => inputs[i][length + k]), real[k], 8);
            }
        }
    }
}
