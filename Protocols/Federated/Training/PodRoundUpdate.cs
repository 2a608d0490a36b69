namespace Smpc.Protocols.Federated.Training;

/// <summary>A pod's contribution to one FedAvg round: the secure-aggregation input [nθᵢ…, n, n·loss], its mean loss at the global θ, and its local θᵢ.</summary>
public sealed record PodRoundUpdate(double[] Input, double Loss, double[] LocalTheta);
