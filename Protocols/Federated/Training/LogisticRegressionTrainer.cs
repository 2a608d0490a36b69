namespace Smpc.Protocols.Federated.Training;

/// <summary>
/// Logistic regression ("logistic"): p = σ(w·x + b), labels 0/1, log loss −[y ln p + (1 − y) ln(1 − p)] with p clamped to
/// [10⁻¹², 1 − 10⁻¹²] (so one confident mistake costs at most ≈ 27.6), gradient descent on the unclamped (p − y)·[x, 1].
/// </summary>
public sealed class LogisticRegressionTrainer : LinearModelTrainer
{
    /// <summary>The registry name.</summary>
    public const string TrainerName = "logistic";

    private const double Epsilon = 1e-12;

    /// <summary>The shared instance (the trainer is stateless).</summary>
    public static LogisticRegressionTrainer Instance { get; } = new();

    /// <inheritdoc />
    public override string Name => TrainerName;

    /// <inheritdoc />
    public override bool BinaryLabels => true;

    /// <summary>σ(z), computed without overflow for large |z|.</summary>
    public static double Sigmoid(double z)
    {
        if (z >= 0) return 1 / (1 + Math.Exp(-z));
        var e = Math.Exp(z);
        return e / (1 + e);
    }

    /// <inheritdoc />
    protected override double SampleLoss(double z, double label)
    {
        // P(y = 0) as σ(−z), not 1 − σ(z): the subtraction would lose the small probabilities the clamp is about.
        var p1 = Math.Clamp(Sigmoid(z), Epsilon, 1 - Epsilon);
        var p0 = Math.Clamp(Sigmoid(-z), Epsilon, 1 - Epsilon);
        return -(label * Math.Log(p1) + (1 - label) * Math.Log(p0));
    }

    /// <inheritdoc />
    protected override double LossSlope(double z, double label) => Sigmoid(z) - label;

    /// <inheritdoc />
    protected override double Output(double z) => Sigmoid(z);
}
