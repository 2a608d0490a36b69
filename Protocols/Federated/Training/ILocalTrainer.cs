using Smpc.Contracts;

namespace Smpc.Protocols.Federated.Training;

/// <summary>
/// A model a pod trains locally in FedAvg: parameters are a flat vector θ, averaged element-wise across pods weighted by
/// their sample counts; θ starts at zero in round 1. Implementations are stateless and deterministic in their inputs
/// (including the shuffle seed), and keep their mean loss within <see cref="FedAvgRound.SampleLossBound"/>.
/// </summary>
public interface ILocalTrainer
{
    /// <summary>The name requests use (<see cref="TrainingRequest.Trainer"/>).</summary>
    string Name { get; }

    /// <summary>True when labels must be 0 or 1 (the loader then also accepts true/false and skips the feature bound for labels).</summary>
    bool BinaryLabels { get; }

    /// <summary>Length of θ for <paramref name="featureCount"/> features.</summary>
    int ParameterCount(int featureCount);

    /// <summary>The mean loss of θ over <paramref name="data"/> (standardised features).</summary>
    double Loss(ReadOnlySpan<double> theta, TrainingData data);

    /// <summary>Trains from θ on <paramref name="data"/> (standardised features) and returns the new parameters; θ itself is not changed.</summary>
    double[] Fit(ReadOnlySpan<double> theta, TrainingData data, LocalFitOptions options);

    /// <summary>The model's output for one standardised row (for a classifier: the probability of label 1).</summary>
    double Predict(ReadOnlySpan<double> theta, ReadOnlySpan<double> row);
}
