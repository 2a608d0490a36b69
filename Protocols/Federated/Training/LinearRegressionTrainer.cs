namespace Smpc.Protocols.Federated.Training;

/// <summary>Linear regression ("linear"): ŷ = w·x + b, loss ½(ŷ − y)² averaged over rows, gradient descent.</summary>
public sealed class LinearRegressionTrainer : LinearModelTrainer
{
    /// <summary>The registry name.</summary>
    public const string TrainerName = "linear";

    /// <summary>The shared instance (the trainer is stateless).</summary>
    public static LinearRegressionTrainer Instance { get; } = new();

    /// <inheritdoc />
    public override string Name => TrainerName;

    /// <inheritdoc />
    public override bool BinaryLabels => false;

    /// <inheritdoc />
    protected override double SampleLoss(double z, double label)
    {
        var r = z - label;
        return 0.5 * r * r;
    }

    /// <inheritdoc />
    protected override double LossSlope(double z, double label) => z - label;

    /// <inheritdoc />
    protected override double Output(double z) => z;
}
