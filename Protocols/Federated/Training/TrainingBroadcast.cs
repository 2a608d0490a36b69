namespace Smpc.Protocols.Federated.Training;

/// <summary>
/// What the modeller sends the pods (sealed) before round <c>Round</c> (1-based): the global parameters the round starts
/// from and the pooled standardisation.
/// </summary>
public sealed record TrainingBroadcast(int Round, double[] Theta, double[] Mean, double[] Std);
