namespace Smpc.Protocols.Federated.Training;

/// <summary>A trained model: its parameters θ over standardised features and the standardisation they assume.</summary>
public sealed record TrainedModel(double[] Theta, StandardisationStats Stats);
