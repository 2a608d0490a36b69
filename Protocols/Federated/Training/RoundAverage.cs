namespace Smpc.Protocols.Federated.Training;

/// <summary>The outcome of one FedAvg round at the modeller: the next global θ, the pooled mean loss of the θ the round started from, and the pooled sample count.</summary>
public sealed record RoundAverage(double[] Theta, double MeanLoss, long Samples);
