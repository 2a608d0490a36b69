using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Sessions.Legacy;

/// <summary>(As the single session grain stored it.) 
/// Stored state of a PSI session: the spec, the pod's public RSA key, sizes and flags. The sets themselves live in
/// payloads (blinded or encoded elements only) and are deleted when the session ends.
/// </summary>
public sealed class LegacyPsiState
{
    public PsiSpec? Spec { get; set; }
    public DateTimeOffset? Deadline { get; set; }
    public bool Accepted { get; set; }
    public byte[]? PublicKey { get; set; }
    public bool CountedByPod { get; set; }
    public long? ServerSetSize { get; set; }
    public bool QueryStored { get; set; }
    public bool ReplyStored { get; set; }
    public bool DoubleBlindedStored { get; set; }
    public long? PodCount { get; set; }
    public long? ReportedCount { get; set; }
    public string? FailureReason { get; set; }
}
