using System.Collections.Immutable;

namespace Smpc.Protocols.Federated;

/// <summary>
/// What the service knows of a federated session: the pods' signed member keys, the content key sealed to each (ciphertext),
/// its rounds, the names of its releases (ciphertext in payloads) and the modeller's metrics. Plain and immutable, so the
/// session grain persists it as it is.
/// </summary>
public sealed record FederatedRunState
{
    public FederatedPhase Phase { get; init; } = FederatedPhase.Running;
    public DateTimeOffset? Deadline { get; init; }
    public ImmutableSortedDictionary<string, FederatedMemberKey> MemberKeys { get; init; } = ImmutableSortedDictionary.Create<string, FederatedMemberKey>(StringComparer.Ordinal);
    public ImmutableSortedDictionary<string, byte[]> SealedKeys { get; init; } = ImmutableSortedDictionary.Create<string, byte[]>(StringComparer.Ordinal);
    public ImmutableList<FederatedRoundRecord> Rounds { get; init; } = [];
    public ImmutableList<string> Releases { get; init; } = [];
    public ImmutableList<FederatedMetricsRecord> Metrics { get; init; } = [];
    public string? FailureReason { get; init; }
}
