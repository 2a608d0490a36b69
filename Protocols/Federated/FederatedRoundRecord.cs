namespace Smpc.Protocols.Federated;

/// <summary>A round of a federated session: its label, the secure-aggregation session that ran it, when, and over which pods.</summary>
public sealed record FederatedRoundRecord(string Round, string SessionId, DateTimeOffset CreatedAt, IReadOnlyList<string> PodIds);
