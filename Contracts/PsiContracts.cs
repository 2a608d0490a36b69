// REST contracts of private set intersection (docs/protocols/psi.md). Sets travel as application/octet-stream of
// fixed-size elements; control messages as JSON.
namespace Smpc.Contracts;

/// <summary>One column matched on: its name on that side, its kind (text, case-sensitive-text, email, phone, integer) and, for phones, the country code of national numbers.</summary>
public sealed record PsiColumnRequest(string Name, string Kind, string? CountryCode = null);

/// <summary>
/// What a PSI session computes. <c>Protocol</c>: ecdh (default), rsa-blind or kkrt; <c>Mode</c>: intersection or cardinality;
/// columns on each side (same kinds, position by position); <c>Source</c>: the pod's named data source;
/// <c>ModellerSetSize</c>: how many records the modeller will query with (kkrt: distinct records); <c>KeyBits</c>: RSA size (2048, 3072 default, 4096);
/// <c>Version</c>: the protocol version, required for ecdh (<c>ecdh-oprf-v1</c>; a request without it comes from a client
/// that hashes records the old way and is refused, problem type unsupported-protocol-version) and kkrt (<c>kkrt-v1</c>); <c>CountKey</c>: ecdh
/// cardinality, base64 of the modeller's fresh X25519 public key the pod seals the count to.
/// </summary>
public sealed record PsiRequest(
    string Mode, IReadOnlyList<PsiColumnRequest> ModellerColumns, IReadOnlyList<PsiColumnRequest> PodColumns, string Source, long ModellerSetSize,
    string Protocol = "ecdh", int? KeyBits = null, int TimeoutSeconds = 3600, string? Version = null, string? CountKey = null);

/// <summary>
/// Progress of a PSI session: sizes and flags only (and the pod's public RSA key with its certification proof, the ecdh
/// version, the modeller's count key and the pod's count sealed to it, which the service cannot open). <c>PodSetStored</c>:
/// the pod's <c>pod-set</c> payload is stored (kkrt: its setup, which the modeller fetches before its query); <c>PodSetSize</c>
/// is the pod's set size (kkrt: known from the reply's length, so null until the reply is stored).
/// </summary>
public sealed record PsiStatusResponse(
    string Protocol, string Mode, IReadOnlyList<PsiColumnRequest> ModellerColumns, IReadOnlyList<PsiColumnRequest> PodColumns, string Source,
    long ModellerSetSize, int? KeyBits, int TimeoutSeconds, DateTimeOffset? Deadline, string? PublicKey, bool Accepted, bool CountedByPod,
    long? PodSetSize, bool QueryStored, bool ReplyStored, bool DoubleBlindedStored, long? PodCount, long? ReportedCount, string? FailureReason,
    string? KeyProof = null, string? Version = null, string? CountKey = null, string? SealedCount = null, bool PodSetStored = false);

/// <summary>
/// The pod accepts: its fresh RSA public key (base64 of BE16 |n| ‖ n ‖ BE16 |e| ‖ e) for rsa-blind with <c>KeyProof</c>, the
/// key-certification proof bound to the session (base64 of 0x01 ‖ 0x08 ‖ σ_0 ‖ … ‖ σ_7, docs/protocols/psi.md), whether it counts the intersection itself (always, for ecdh cardinality), and for ecdh and kkrt the protocol version it speaks (must equal the session's).
/// </summary>
public sealed record PsiAcceptRequest(string? PublicKey = null, bool CountedByPod = false, string? KeyProof = null, string? Version = null);

/// <summary>The pod declines or ends the session; the modeller reads the reason.</summary>
public sealed record PsiDeclineRequest(string Reason);

/// <summary>
/// A count. <c>complete</c>: the one the modeller chooses to record (<c>Count</c>). <c>count</c> (pod-counted ecdh
/// cardinality): <c>SealedCount</c>, base64 of the pod's count sealed to the session's count key (a plain count is refused).
/// </summary>
public sealed record PsiCountRequest(long? Count, string? SealedCount = null);

/// <summary>Wire names of PSI payloads (the last segment of their routes).</summary>
public static class PsiPayloads
{
    public const string PodSet = "pod-set";
    public const string Query = "query";
    public const string Reply = "reply";
    public const string DoubleBlinded = "double-blinded";
}

/// <summary>Wire names of the PSI protocols.</summary>
public static class PsiProtocolNames
{
    public const string Ecdh = "ecdh";
    public const string RsaBlind = "rsa-blind";

    public const string Kkrt = "kkrt";

    /// <summary>The ecdh protocol version (RFC 9497 OPRF ristretto255-SHA512; docs/protocols/psi.md).</summary>
    public const string EcdhOprfV1 = "ecdh-oprf-v1";

    /// <summary>The kkrt protocol version (KKRT16 batched OPRF over OT extension; docs/protocols/psi.md).</summary>
    public const string KkrtV1 = "kkrt-v1";
}

/// <summary>Wire names of the PSI modes.</summary>
public static class PsiModeNames
{
    public const string Intersection = "intersection";
    public const string Cardinality = "cardinality";
}
