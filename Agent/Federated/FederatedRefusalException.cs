namespace Smpc.Agent.Federated;

/// <summary>The pod refuses a round of a federated session; the message is its reason, which the modeller reads.</summary>
public sealed class FederatedRefusalException(string reason) : Exception(reason);
