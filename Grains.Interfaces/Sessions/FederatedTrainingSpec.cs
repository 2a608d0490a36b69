namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>
/// What a federated training (FedAvg) session runs (DESIGN.md §3.3): the trainer, the pods' source and columns, the schedule,
/// and the bounds that size the encoding of parameters, features and a pod's rows.
/// </summary>
[GenerateSerializer, Immutable, Alias("smpc.federated-training-spec")]
public sealed record FederatedTrainingSpec(
    [property: Id(0)] string Trainer,
    [property: Id(1)] string Source,
    [property: Id(2)] IReadOnlyList<string> Features,
    [property: Id(3)] string Label,
    [property: Id(4)] int Rounds,
    [property: Id(5)] double LearningRate,
    [property: Id(6)] int LocalEpochs,
    [property: Id(7)] int BatchSize,
    [property: Id(8)] double Tolerance,
    [property: Id(9)] int RoundTimeoutSeconds,
    [property: Id(10)] double ParameterBound,
    [property: Id(11)] double FeatureBound,
    [property: Id(12)] long MaxSamplesPerPod);
