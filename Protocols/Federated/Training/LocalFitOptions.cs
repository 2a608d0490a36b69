namespace Smpc.Protocols.Federated.Training;

/// <summary>How a pod trains locally in one round: step size, passes over its data, batch size (0 = full batch) and the seed of the batch shuffle.</summary>
public sealed record LocalFitOptions(double LearningRate, int Epochs, int BatchSize = 0, long Seed = 0)
{
    /// <summary>Throws unless the options are usable.</summary>
    public void Validate()
    {
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentException("The learning rate must be a positive number.", nameof(LearningRate));
        ArgumentOutOfRangeException.ThrowIfLessThan(Epochs, 0, nameof(Epochs));
        ArgumentOutOfRangeException.ThrowIfNegative(BatchSize, nameof(BatchSize));
    }
}
