using System.Globalization;
using Smpc.Client.Records;
using Smpc.Protocols.Federated.Training;

namespace Smpc.Samples;

/// <summary>Synthetic tabular data for binary classification drawn from one fixed logistic model (for `smpc demo` and benchmarks).</summary>
/// <remarks>
/// The model — per-feature offsets and scales, unit-norm weights and a bias — is a pure function of
/// <c>modelSeed</c>; each pod draws its own rows with its own <c>seed</c>, so pods sharing a model seed hold independent
/// samples of one population. A row is z ~ N(0, I), x = offset + scale ∘ z (raw features of very different scales, so
/// standardisation matters), and y = 1 with probability σ(signal · (w·z + b)) — or exactly when w·z + b &gt; 0 if
/// <c>separable</c>. Features stay far inside the default FeatureBound (|x| ≲ 50 + 20·6).
/// </remarks>
public static class SyntheticClassification
{
    /// <summary>Draws <paramref name="rows"/> rows of <paramref name="features"/> features (raw) with 0/1 labels.</summary>
    public static TrainingData Generate(int seed, int rows, int features, int modelSeed = 0, double signal = 4, bool separable = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        if (!(signal > 0) || !double.IsFinite(signal)) throw new ArgumentException("The signal must be a positive number.", nameof(signal));
        var (offset, scale, weights, bias) = Model(features, modelSeed);
        var random = new SplitMix64(SplitMix64.Mix((ulong)(uint)seed, 0xDA7A_0000UL | (uint)modelSeed));
        var x = new double[(long)rows * features];
        var y = new double[rows];
        var z = new double[features];
        for (var i = 0; i < rows; i++)
        {
            var score = bias;
            for (var j = 0; j < features; j++)
            {
                z[j] = random.NextGaussian();
                score += weights[j] * z[j];
                x[((long)i * features) + j] = offset[j] + scale[j] * z[j];
            }

            y[i] = separable
                ? (score > 0 ? 1 : 0)
                : (random.NextDouble() < LogisticRegressionTrainer.Sigmoid(signal * score) ? 1 : 0);
        }

        return TrainingData.Own(x, y, features);
    }

    /// <summary>Writes <paramref name="data"/> as CSV: a header of the feature names and the label name, then one row per sample (invariant round-trip numbers).</summary>
    public static void WriteCsv(string path, TrainingData data, IReadOnlyList<string> featureNames, string labelName)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentException.ThrowIfNullOrWhiteSpace(labelName);
        if (featureNames.Count != data.FeatureCount) throw new ArgumentException($"{featureNames.Count} names for {data.FeatureCount} features.", nameof(featureNames));
        using var writer = new CsvRowWriter(path, [.. featureNames, labelName]);
        var values = new string?[data.FeatureCount + 1];
        for (var i = 0; i < data.Count; i++)
        {
            var row = data.Row(i);
            for (var j = 0; j < row.Length; j++) values[j] = row[j].ToString("R", CultureInfo.InvariantCulture);
            values[^1] = data.Label(i).ToString("R", CultureInfo.InvariantCulture);
            writer.WriteRow(values);
        }
    }

    private static (double[] Offset, double[] Scale, double[] Weights, double Bias) Model(int features, int modelSeed)
    {
        var random = new SplitMix64(SplitMix64.Mix((ulong)(uint)modelSeed, 0x30DE_1000UL));
        var offset = new double[features];
        var scale = new double[features];
        var weights = new double[features];
        var norm = 0.0;
        for (var j = 0; j < features; j++)
        {
            offset[j] = -50 + 100 * random.NextDouble();
            scale[j] = 0.5 + 19.5 * random.NextDouble();
            weights[j] = random.NextGaussian();
            norm += weights[j] * weights[j];
        }

        norm = Math.Sqrt(norm);
        for (var j = 0; j < features; j++) weights[j] /= norm;
        return (offset, scale, weights, 0.5 * random.NextGaussian());
    }
}
