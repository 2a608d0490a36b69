namespace Smpc.Client.Training;

/// <summary>A trained model: its parameters θ over standardised features and the standardisation they assume.</summary>
public sealed record TrainedModel(double[] Theta, StandardisationStats Stats);
