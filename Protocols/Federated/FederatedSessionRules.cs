namespace Smpc.Protocols.Federated;

/// <summary>What a federated coordinator needs to know of its session: names (bound into member-key signatures), pods and lifetime.</summary>
public sealed record FederatedSessionRules(string Tenant, string SessionId, IReadOnlyList<string> PodIds, TimeSpan Lifetime);
