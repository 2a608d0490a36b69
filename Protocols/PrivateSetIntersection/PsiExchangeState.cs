namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>What the service knows of a PSI session: sizes and flags, and the pod's public RSA key. Never an element or a record.</summary>
public sealed record PsiExchangeState
{
    public PsiPhase Phase { get; init; } = PsiPhase.AwaitingPod;
    public DateTimeOffset? Deadline { get; init; }
    public bool Accepted { get; init; }
    public byte[]? PublicKey { get; init; }
    /// <summary>The pod's key-certification proof (rsa-blind), stored and served as given; only its shape is checked here.</summary>
    public byte[]? KeyProof { get; init; }
    public bool CountedByPod { get; init; }
    /// <summary>The pod's set size: its encoded set's element count (ecdh, rsa-blind), or (kkrt) the reply's length over 3ℓ, known once the reply is stored.</summary>
    public long? ServerSetSize { get; init; }
    /// <summary>The pod's <c>pod-set</c> payload is stored (kkrt: its setup). States stored before this flag have only <see cref="ServerSetSize"/>.</summary>
    public bool PodSetStored { get; init; }
    public bool QueryStored { get; init; }
    public bool ReplyStored { get; init; }
    public bool DoubleBlindedStored { get; init; }
    public long? PodCount { get; init; }
    /// <summary>Pod-counted ecdh cardinality: the pod's count sealed to the modeller's count key (ciphertext only).</summary>
    public byte[]? SealedCount { get; init; }
    public long? ReportedCount { get; init; }
    public string? FailureReason { get; init; }
}
