// REST contracts of private set intersection (docs/protocols/psi.md). Sets travel as application/octet-stream of
// fixed-size elements; control messages as JSON.
namespace Smpc.Contracts;

/// <summary>One column matched on: its name on that side, its kind (text, case-sensitive-text, email, phone, integer) and, for phones, the country code of national numbers.</summary>
public sealed record PsiColumnRequest(string Name, string Kind, string? CountryCode = null);

/// <summary>
/// What a PSI session computes. <c>Protocol</c>: ecdh (default) or rsa-blind; <c>Mode</c>: intersection or cardinality;
/// columns on each side (same kinds, position by position); <c>Source</c>: the pod's named data source;
/// <c>ModellerSetSize</c>: how many records the modeller will query with; <c>KeyBits</c>: RSA size (2048, 3072 default, 4096).
/// </summary>
public sealed record PsiRequest(
    string Mode, IReadOnlyList<PsiColumnRequest> ModellerColumns, IReadOnlyList<PsiColumnRequest> PodColumns, string Source, long ModellerSetSize,
    string Protocol = "ecdh", int? KeyBits = null, int TimeoutSeconds = 3600);

/// <summary>Progress of a PSI session: sizes and flags only (and the pod's public RSA key with its certification proof).</summary>
public sealed record PsiStatusResponse(
    string Protocol, string Mode, IReadOnlyList<PsiColumnRequest> ModellerColumns, IReadOnlyList<PsiColumnRequest> PodColumns, string Source,
    long ModellerSetSize, int? KeyBits, int TimeoutSeconds, DateTimeOffset? Deadline, string? PublicKey, bool Accepted, bool CountedByPod,
    long? PodSetSize, bool QueryStored, bool ReplyStored, bool DoubleBlindedStored, long? PodCount, long? ReportedCount, string? FailureReason,
    string? KeyProof = null);

/// <summary>
/// The pod accepts: its fresh RSA public key (base64 of BE16 |n| ‖ n ‖ BE16 |e| ‖ e) for rsa-blind with <c>KeyProof</c>, the
/// key-certification proof bound to the session (base64 of 0x01 ‖ 0x08 ‖ σ_0 ‖ … ‖ σ_7, docs/protocols/psi.md), and whether it counts the intersection itself.
/// </summary>
public sealed record PsiAcceptRequest(string? PublicKey = null, bool CountedByPod = false, string? KeyProof = null);

/// <summary>The pod declines or ends the session; the modeller reads the reason.</summary>
public sealed record PsiDeclineRequest(string Reason);

/// <summary>A count: the pod's (pod-counted cardinality) or the one the modeller chooses to record.</summary>
public sealed record PsiCountRequest(long? Count);

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
}

/// <summary>Wire names of the PSI modes.</summary>
public static class PsiModeNames
{
    public const string Intersection = "intersection";
    public const string Cardinality = "cardinality";
}
