namespace Smpc.Protocols.Federated;

/// <summary>Metrics the modeller published for one round, as given.</summary>
public sealed record FederatedMetricsRecord(string Round, IReadOnlyDictionary<string, double> Values, DateTimeOffset ReportedAt);
