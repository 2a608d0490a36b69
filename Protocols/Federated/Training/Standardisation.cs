using Smpc.Contracts;

namespace Smpc.Protocols.Federated.Training;

/// <summary>
/// The <c>standardise</c> round of a training session: pooled feature means and standard deviations by secure aggregation.
/// </summary>
/// <remarks>
/// 1. Each pod i submits [nᵢ, Σx (per feature), Σx² (per feature)] over its rows (<see cref="Input"/>).
/// 2. The modeller receives only the sums N = Σnᵢ, S = ΣΣx, Q = ΣΣx² and computes mean μ = S/N and the population
///    standard deviation σ = √(Q/N − μ²) (<see cref="FromSums"/>); σ ≈ 0 (a constant feature) becomes 1.
/// 3. Every pod then trains on (x − μ)/σ (<see cref="Apply(TrainingData, StandardisationStats)"/>), so the parameters
///    of all pods live on one scale. The modeller learns N and the pooled first two moments of each feature, nothing per pod.
/// </remarks>
public static class Standardisation
{
    /// <summary>The name of the secure-aggregation round.</summary>
    public const string RoundName = "standardise";

    /// <summary>Field: the pod's row count.</summary>
    public const string SamplesField = "samples";

    /// <summary>Field: per-feature sum of values.</summary>
    public const string SumField = "sum";

    /// <summary>Field: per-feature sum of squared values.</summary>
    public const string SumSquaresField = "sumsq";

    /// <summary>
    /// The round's fields, in vector order: <c>samples</c> [1] (exact, [0, MaxSamplesPerPod]), <c>sum</c> [d]
    /// (±FeatureBound·MaxSamplesPerPod, precision ≥ 10⁴) and <c>sumsq</c> [d] ([0, FeatureBound²·MaxSamplesPerPod], precision ≥ 10²),
    /// each at the finest power-of-ten precision that sums safely over 50 pods.
    /// </summary>
    /// <param name="request">The session's request.</param>
    /// <param name="featureCount">d, the number of features (the request's feature columns).</param>
    /// <exception cref="ArgumentException">The request is malformed, or its bounds are too large to encode; the message says which to lower.</exception>
    public static IReadOnlyList<AggregationFieldRequest> Fields(TrainingRequest request, int featureCount)
    {
        TrainingRequests.Validate(request);
        if (featureCount != request.Features.Count)
        {
            throw new ArgumentException($"The request has {request.Features.Count} feature columns, not {featureCount}.", nameof(featureCount));
        }

        var d = featureCount;
        var n = (double)request.MaxSamplesPerPod;
        var sum = request.FeatureBound * n;
        const string Remedy = "lower FeatureBound or MaxSamplesPerPod";
        return
        [
            FieldSizing.Integer(SamplesField, 1, 0, request.MaxSamplesPerPod, "lower MaxSamplesPerPod"),
            FieldSizing.Real(SumField, d, -sum, sum, 10_000, Remedy),
            FieldSizing.Real(SumSquaresField, d, 0, request.FeatureBound * request.FeatureBound * n, 100, Remedy),
        ];
    }

    /// <summary>A pod's input to the round, laid out as <see cref="Fields"/>: [n, Σx₁ … Σx_d, Σx₁² … Σx_d²].</summary>
    public static double[] Input(TrainingData raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var d = raw.FeatureCount;
        var input = new double[1 + 2 * d];
        input[0] = raw.Count;
        for (var i = 0; i < raw.Count; i++)
        {
            var row = raw.Row(i);
            for (var j = 0; j < d; j++)
            {
                input[1 + j] += row[j];
                input[1 + d + j] += row[j] * row[j];
            }
        }

        return input;
    }

    /// <summary>The pooled statistics from the round's summed fields (field name → sum).</summary>
    /// <exception cref="ArgumentException">A field is missing, has the wrong length, or the sample count is zero.</exception>
    public static StandardisationStats FromSums(IReadOnlyDictionary<string, double[]> sums)
    {
        ArgumentNullException.ThrowIfNull(sums);
        var samples = Sums.Scalar(sums, SamplesField);
        var sum = Sums.Vector(sums, SumField);
        var squares = Sums.Vector(sums, SumSquaresField);
        if (squares.Length != sum.Length) throw new ArgumentException($"'{SumField}' has {sum.Length} elements but '{SumSquaresField}' has {squares.Length}.", nameof(sums));
        var n = (long)Math.Round(samples);
        if (n < 1) throw new ArgumentException("The pooled sample count is zero: no pod contributed rows.", nameof(sums));
        var mean = new double[sum.Length];
        var std = new double[sum.Length];
        for (var j = 0; j < sum.Length; j++)
        {
            mean[j] = sum[j] / n;
            var variance = Math.Max(0, squares[j] / n - mean[j] * mean[j]);
            var sd = Math.Sqrt(variance);

            // Fixed-point rounding leaves a constant feature a tiny non-zero spread; dividing by it would blow up noise.
            std[j] = sd > 1e-6 * Math.Max(1, Math.Abs(mean[j])) ? sd : 1;
        }

        return new StandardisationStats(n, mean, std);
    }

    /// <summary>The statistics of one table computed directly (the central baseline's standardisation; equal to <see cref="FromSums"/> over the pooled rows).</summary>
    public static StandardisationStats Compute(TrainingData raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var input = Input(raw);
        var d = raw.FeatureCount;
        return FromSums(new Dictionary<string, double[]>
        {
            [SamplesField] = [input[0]],
            [SumField] = input[1..(1 + d)],
            [SumSquaresField] = input[(1 + d)..],
        });
    }

    /// <summary>A standardised copy of <paramref name="raw"/>: (x − mean)/std per feature; labels unchanged.</summary>
    public static TrainingData Apply(TrainingData raw, StandardisationStats stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        return Apply(raw, stats.Mean, stats.Std);
    }

    /// <summary>A standardised copy of <paramref name="raw"/> with the given per-feature mean and std (e.g. from a <see cref="TrainingBroadcast"/>).</summary>
    /// <exception cref="TrainingRefusedException">The mean or std has the wrong length, a non-finite value, or a std that is not positive.</exception>
    public static TrainingData Apply(TrainingData raw, IReadOnlyList<double> mean, IReadOnlyList<double> std)
    {
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        var d = raw.FeatureCount;
        if (mean.Count != d || std.Count != d)
        {
            throw new TrainingRefusedException($"the standardisation has {mean.Count} means and {std.Count} standard deviations for {d} features");
        }

        for (var j = 0; j < d; j++)
        {
            if (!double.IsFinite(mean[j]) || !double.IsFinite(std[j]) || !(std[j] > 0))
            {
                throw new TrainingRefusedException($"the standardisation of feature {j + 1} is not usable (non-finite mean, or std not positive)");
            }
        }

        var source = raw.Features;
        var features = new double[source.Length];
        for (var i = 0; i < source.Length; i++)
        {
            var j = i % d;
            features[i] = (source[i] - mean[j]) / std[j];
        }

        return TrainingData.Own(features, raw.Labels.ToArray(), d);
    }

    /// <summary>
    /// The parameters of a linear-score model ([w…, b], as both built-ins) over standardised features rewritten for raw
    /// features: wⱼ/σⱼ and b − Σ wⱼμⱼ/σⱼ, so predictions on raw rows equal those on standardised rows.
    /// </summary>
    public static double[] ToRawScale(ReadOnlySpan<double> theta, StandardisationStats stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        var d = stats.Mean.Length;
        if (theta.Length != d + 1) throw new ArgumentException($"θ has {theta.Length} parameters; a linear score on {d} features has {d + 1}.", nameof(theta));
        var raw = new double[d + 1];
        raw[d] = theta[d];
        for (var j = 0; j < d; j++)
        {
            raw[j] = theta[j] / stats.Std[j];
            raw[d] -= theta[j] * stats.Mean[j] / stats.Std[j];
        }

        return raw;
    }
}
