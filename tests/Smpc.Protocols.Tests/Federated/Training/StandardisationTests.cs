using Smpc.Contracts;
using Smpc.Protocols;
using Smpc.Protocols.Federated.Training;
using Smpc.Samples;

namespace Smpc.Protocols.Tests.Federated.Training;

public sealed class StandardisationTests
{
    private static readonly TrainingRequest Request = new("logistic", "s", ["a", "b", "c"], "y");

    [Fact]
    public void FromSums_OfThreePodsSecureSums_EqualsTheDirectPooledMeanAndStd()
    {
        TrainingData[] pods = [SyntheticClassification.Generate(1, 300, 3), SyntheticClassification.Generate(2, 1200, 3), SyntheticClassification.Generate(3, 50, 3)];
        var fields = Standardisation.Fields(Request, 3);

        var stats = Standardisation.FromSums(SecureSums.Of(fields, pods.Select(Standardisation.Input)));

        var pooled = TrainingData.Concat(pods);
        Assert.Equal(1550, stats.Samples);
        for (var j = 0; j < 3; j++)
        {
            var column = Enumerable.Range(0, pooled.Count).Select(i => pooled.Row(i)[j]).ToArray();
            var mean = column.Average();
            var std = Math.Sqrt(column.Sum(x => (x - mean) * (x - mean)) / column.Length);
            Assert.Equal(mean, stats.Mean[j], 1e-9);
            Assert.Equal(std, stats.Std[j], 1e-6);
        }
    }

    [Fact]
    public void Apply_GivesEachFeatureMeanZeroAndStdOne_AndKeepsTheLabels()
    {
        var raw = SyntheticClassification.Generate(4, 1000, 3);

        var standardised = Standardisation.Apply(raw, Standardisation.Compute(raw));

        var again = Standardisation.Compute(standardised);
        for (var j = 0; j < 3; j++)
        {
            Assert.Equal(0, again.Mean[j], 1e-12);
            Assert.Equal(1, again.Std[j], 1e-12);
        }

        Assert.Equal(raw.Labels.ToArray(), standardised.Labels.ToArray());
    }

    [Fact]
    public void FromSums_ConstantFeature_GetsStdOne()
    {
        var raw = new TrainingData([5.0, 1, 5, 2, 5, 3], [0.0, 1, 0], featureCount: 2);

        var stats = Standardisation.FromSums(SecureSums.Of(Standardisation.Fields(Request with { Features = ["a", "b"] }, 2), [Standardisation.Input(raw)]));

        Assert.Equal([5, 2], stats.Mean, new Tolerance(1e-9));
        Assert.Equal(1, stats.Std[0]);
        Assert.Equal(Math.Sqrt(2.0 / 3), stats.Std[1], 1e-6);
    }

    [Fact]
    public void Apply_BroadcastWithAZeroStd_IsRefused()
    {
        var raw = new TrainingData([1.0, 2.0], [0.0], featureCount: 2);

        var error = Assert.Throws<TrainingRefusedException>(() => Standardisation.Apply(raw, [0, 0], [1, 0]));

        Assert.Equal("the standardisation of feature 2 is not usable (non-finite mean, or std not positive)", error.Message);
    }

    [Fact]
    public void Fields_AtTheDefaultBounds_PassTheCodecAtFiftyParties_AndTheLargestInputEncodes()
    {
        var fields = Standardisation.Fields(Request, 3);

        Assert.Equal(["samples", "sum", "sumsq"], fields.Select(f => f.Name));
        Assert.Equal([1, 3, 3], fields.Select(f => f.Length));
        Assert.Equal(1, fields[0].Precision);
        Assert.True(fields[1].Precision >= 10_000);
        Assert.True(fields[2].Precision >= 100);
        var codec = SecureSums.Codec(fields);

        // A pod at every bound: MaxSamplesPerPod rows, all at ±FeatureBound.
        const double N = 1_000_000, B = 1000;
        codec.Encode([N, B * N, -B * N, B * N, B * B * N, B * B * N, B * B * N]);
    }

    [Fact]
    public void Fields_WhoseBoundsCannotBeEncoded_AreRefusedUpFrontSayingWhatToLower()
    {
        var error = Assert.Throws<ArgumentException>(() => Standardisation.Fields(Request with { MaxSamplesPerPod = 1_000_000_000 }, 3));

        Assert.Contains("field 'sumsq'", error.Message, StringComparison.Ordinal);
        Assert.Contains("lower FeatureBound or MaxSamplesPerPod", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fields_UseTheFinestPrecisionThatFits_TenTimesFinerWouldOverflow()
    {
        // The chosen precision is the finest that fits: ten times finer overflows at 50 parties.
        foreach (var field in Standardisation.Fields(Request, 3).Where(f => f.Precision > 1))
        {
            var finer = field with { Precision = field.Precision * 10 };
            Assert.Throws<InputRejectedException>(() => SecureSums.Codec([finer]));
        }
    }

    [Fact]
    public void ToRawScale_PredictsOnRawRowsWhatTheModelPredictsOnStandardisedRows()
    {
        var raw = SyntheticClassification.Generate(5, 20, 3);
        var stats = Standardisation.Compute(raw);
        var standardised = Standardisation.Apply(raw, stats);
        double[] theta = [0.7, -1.2, 0.3, 0.1];
        var trainer = Trainers.Get("logistic");

        var rawTheta = Standardisation.ToRawScale(theta, stats);

        for (var i = 0; i < raw.Count; i++)
        {
            Assert.Equal(trainer.Predict(theta, standardised.Row(i)), trainer.Predict(rawTheta, raw.Row(i)), 1e-9);
        }
    }

    private sealed class Tolerance(double epsilon) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= epsilon;

        public int GetHashCode(double obj) => 0;
    }
}
