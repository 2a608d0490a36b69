using Smpc.Contracts;

namespace Smpc.Protocols.Federated.Training;

/// <summary>The non-private baseline: the same trainer on all pods' rows pooled in one place.</summary>
public static class CentralTraining
{
    /// <summary>
    /// Standardises <paramref name="pooledRaw"/> with its own statistics (what the <c>standardise</c> round computes) and
    /// trains from θ = 0 (as round 1 of a session) for Rounds × LocalEpochs passes, with the request's learning rate and
    /// batch size: the same amount of training a federated session does without early stopping.
    /// </summary>
    public static TrainedModel Train(ILocalTrainer trainer, TrainingData pooledRaw, TrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(pooledRaw);
        TrainingRequests.Validate(request);
        var stats = Standardisation.Compute(pooledRaw);
        var standardised = Standardisation.Apply(pooledRaw, stats);
        var epochs = checked(request.Rounds * request.LocalEpochs);
        var theta = trainer.Fit(new double[trainer.ParameterCount(pooledRaw.FeatureCount)], standardised, new LocalFitOptions(request.LearningRate, epochs, request.BatchSize));
        return new TrainedModel(theta, stats);
    }
}
