namespace Smpc.Protocols.Federated.Training;

/// <summary>
/// Base of models with a linear score z = w·x + b and a per-sample loss ℓ(z, y): θ = [w₁ … w_d, b] (bias last), trained
/// by mini-batch gradient descent with ∇θ = mean over the batch of ℓ′(z, y)·[x, 1]. Subclass it for other generalised
/// linear models (e.g. Poisson) by giving the loss, its slope and the output.
/// </summary>
public abstract class LinearModelTrainer : ILocalTrainer
{
    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public abstract bool BinaryLabels { get; }

    /// <inheritdoc />
    public int ParameterCount(int featureCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(featureCount, 1);
        return featureCount + 1;
    }

    /// <inheritdoc />
    public double Loss(ReadOnlySpan<double> theta, TrainingData data)
    {
        Check(theta, data);
        var sum = 0.0;
        for (var i = 0; i < data.Count; i++)
        {
            sum += SampleLoss(Score(theta, data.Row(i)), data.Label(i));
        }

        return sum / data.Count;
    }

    /// <inheritdoc />
    public double[] Fit(ReadOnlySpan<double> theta, TrainingData data, LocalFitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Check(theta, data);
        options.Validate();
        var n = data.Count;
        var d = data.FeatureCount;
        var w = theta.ToArray();
        var gradient = new double[d + 1];
        var batch = options.BatchSize <= 0 || options.BatchSize >= n ? n : options.BatchSize;
        int[]? order = batch < n ? [.. Enumerable.Range(0, n)] : null;
        var random = new SplitMix64((ulong)options.Seed);
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            if (order is not null) Shuffle(order, ref random);
            for (var start = 0; start < n; start += batch)
            {
                var end = Math.Min(n, start + batch);
                Array.Clear(gradient);
                for (var k = start; k < end; k++)
                {
                    var i = order?[k] ?? k;
                    var row = data.Row(i);
                    var slope = LossSlope(Score(w, row), data.Label(i));
                    for (var j = 0; j < d; j++) gradient[j] += slope * row[j];
                    gradient[d] += slope;
                }

                var step = options.LearningRate / (end - start);
                for (var j = 0; j <= d; j++) w[j] -= step * gradient[j];
            }
        }

        return w;
    }

    /// <inheritdoc />
    public double Predict(ReadOnlySpan<double> theta, ReadOnlySpan<double> row)
    {
        if (theta.Length != row.Length + 1) throw new ArgumentException($"θ has {theta.Length} parameters; a row of {row.Length} features needs {row.Length + 1}.", nameof(theta));
        return Output(Score(theta, row));
    }

    /// <summary>The loss of one sample with score <paramref name="z"/> and label <paramref name="label"/>.</summary>
    protected abstract double SampleLoss(double z, double label);

    /// <summary>∂ℓ/∂z at score <paramref name="z"/>.</summary>
    protected abstract double LossSlope(double z, double label);

    /// <summary>The prediction for score <paramref name="z"/>.</summary>
    protected abstract double Output(double z);

    private static double Score(ReadOnlySpan<double> theta, ReadOnlySpan<double> row)
    {
        var z = theta[^1];
        for (var j = 0; j < row.Length; j++) z += theta[j] * row[j];
        return z;
    }

    private void Check(ReadOnlySpan<double> theta, TrainingData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0) throw new ArgumentException("There are no rows to train on.", nameof(data));
        var p = ParameterCount(data.FeatureCount);
        if (theta.Length != p) throw new ArgumentException($"θ has {theta.Length} parameters; {Name} on {data.FeatureCount} features needs {p}.", nameof(theta));
    }

    private static void Shuffle(int[] order, ref SplitMix64 random)
    {
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = random.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }
}
