namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>One column a PSI record is matched on: its name on that side and its normalisation rule (text, case-sensitive-text, email, phone, integer).</summary>
[GenerateSerializer, Immutable, Alias("smpc.psi-column")]
public sealed record PsiColumn(
    [property: Id(0)] string Name,
    [property: Id(1)] string Kind,
    [property: Id(2)] string? CountryCode = null);

/// <summary>
/// What a PSI session computes: protocol (<c>ecdh</c>, <c>rsa-blind</c> or <c>kkrt</c>), mode (<c>intersection</c> or <c>cardinality</c>), the
/// columns on each side (same kinds, position by position), the pod's named source, the size of the modeller's set (declared
/// up front so the pod can apply its limits before any work), the RSA key size, the session's timeout, the ecdh or kkrt protocol
/// version and (ecdh cardinality) the modeller's X25519 key the pod seals its count to.
/// </summary>
[GenerateSerializer, Immutable, Alias("smpc.psi-spec")]
public sealed record PsiSpec(
    [property: Id(0)] string Protocol,
    [property: Id(1)] string Mode,
    [property: Id(2)] IReadOnlyList<PsiColumn> ModellerColumns,
    [property: Id(3)] IReadOnlyList<PsiColumn> PodColumns,
    [property: Id(4)] string Source,
    [property: Id(5)] long ModellerSetSize,
    [property: Id(6)] int KeyBits,
    [property: Id(7)] TimeSpan Timeout,
    [property: Id(8)] string? Version = null,
    [property: Id(9)] byte[]? CountKey = null);

/// <summary>The pod's acceptance: its per-session RSA public key and key-certification proof (rsa-blind), whether it counts the intersection itself (ecdh cardinality) and the ecdh version it speaks.</summary>
[GenerateSerializer, Immutable, Alias("smpc.psi-accept")]
public sealed record PsiAccept(
    [property: Id(0)] byte[]? PublicKey,
    [property: Id(1)] bool CountedByPod,
    [property: Id(2)] byte[]? KeyProof = null,
    [property: Id(3)] string? Version = null);

/// <summary>The binary payloads of a PSI session.</summary>
public enum PsiPayload
{
    /// <summary>Pod: its encoded set, 32-byte elements strictly ascending (kkrt: its setup, code key and base-OT messages).</summary>
    ServerSet = 1,
    /// <summary>Modeller: its blinded records, in its own order.</summary>
    Query = 2,
    /// <summary>Pod: the answers to the query (in query order for intersection, sorted for cardinality; kkrt: three sorted tag lists).</summary>
    Reply = 3,
    /// <summary>Modeller (pod-counted cardinality): the pod's encoded set raised to its own secret, sorted.</summary>
    DoubleBlinded = 4,
}

/// <summary>Where a party streams a PSI payload: payload key, upload id and the size rules the service enforces.</summary>
[GenerateSerializer, Immutable, Alias("smpc.psi-upload")]
public sealed record PsiUpload(
    [property: Id(0)] string PayloadKey,
    [property: Id(1)] Guid UploadId,
    [property: Id(2)] int ChunkBytes,
    [property: Id(3)] long MaxBytes,
    [property: Id(4)] int ElementBytes);

/// <summary>Progress of a PSI session. Only sizes and flags: never an element, a key other than the pod's public RSA key, or a record.</summary>
[GenerateSerializer, Immutable, Alias("smpc.psi-status")]
public sealed record PsiStatus(
    [property: Id(0)] PsiSpec Spec,
    [property: Id(1)] DateTimeOffset? Deadline,
    [property: Id(2)] byte[]? PublicKey,
    [property: Id(3)] bool Accepted,
    [property: Id(4)] bool CountedByPod,
    [property: Id(5)] long? ServerSetSize,
    [property: Id(6)] bool QueryStored,
    [property: Id(7)] bool ReplyStored,
    [property: Id(8)] bool DoubleBlindedStored,
    [property: Id(9)] long? PodCount,
    [property: Id(10)] long? ReportedCount,
    [property: Id(11)] string? FailureReason,
    [property: Id(12)] byte[]? KeyProof = null,
    [property: Id(13)] byte[]? SealedCount = null,
    [property: Id(14)] bool PodSetStored = false);
