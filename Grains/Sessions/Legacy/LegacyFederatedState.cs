using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Sessions.Legacy;

/// <summary>(As the single session grain stored it.) 
/// Stored state of a federated query or training session. Releases (ciphertext) live in payloads and are deleted when the
/// session ends; the rounds are their own secure-aggregation sessions.
/// </summary>
public sealed class LegacyFederatedState
{
    public LegacyFederatedSpec? Spec { get; set; }
    public DateTimeOffset? Deadline { get; set; }
    public Dictionary<string, MemberKey> MemberKeys { get; set; } = [];
    public Dictionary<string, byte[]> SealedKeys { get; set; } = [];
    public List<FederatedRound> Rounds { get; set; } = [];
    public List<string> Releases { get; set; } = [];
    public List<RoundMetrics> Metrics { get; set; } = [];
    public string? FailureReason { get; set; }
}
