namespace Smpc.Protocols.Federated.Training;

/// <summary>Pooled per-feature mean and standard deviation over all pods' rows (a constant feature gets Std 1).</summary>
public sealed record StandardisationStats(long Samples, double[] Mean, double[] Std);
