namespace Smpc.Protocols.Federated.Training;

/// <summary>Quality measures of a model on (standardised) data.</summary>
public static class Evaluation
{
    /// <summary>The fraction of rows whose label a classifier gets right (predicting 1 when its output is at least 0.5).</summary>
    public static double Accuracy(ILocalTrainer trainer, ReadOnlySpan<double> theta, TrainingData standardised)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(standardised);
        if (!trainer.BinaryLabels) throw new ArgumentException($"Trainer '{trainer.Name}' is not a classifier; use RootMeanSquaredError.", nameof(trainer));
        if (standardised.Count == 0) throw new ArgumentException("There are no rows.", nameof(standardised));
        var correct = 0;
        for (var i = 0; i < standardised.Count; i++)
        {
            var predicted = trainer.Predict(theta, standardised.Row(i)) >= 0.5 ? 1.0 : 0.0;
            if (predicted == standardised.Label(i)) correct++;
        }

        return (double)correct / standardised.Count;
    }

    /// <summary>√(mean (prediction − label)²) of a regression model.</summary>
    public static double RootMeanSquaredError(ILocalTrainer trainer, ReadOnlySpan<double> theta, TrainingData standardised)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(standardised);
        if (standardised.Count == 0) throw new ArgumentException("There are no rows.", nameof(standardised));
        var sum = 0.0;
        for (var i = 0; i < standardised.Count; i++)
        {
            var error = trainer.Predict(theta, standardised.Row(i)) - standardised.Label(i);
            sum += error * error;
        }

        return Math.Sqrt(sum / standardised.Count);
    }
}
