using Orleans.Concurrency;
using Smpc.Grains.Interfaces.Access;

namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>A private-set-intersection session between a modeller and one pod (DESIGN.md §3.4). Keyed <c>"{tenant}/{session}"</c>.</summary>
[Alias("smpc.session.psi")]
public interface IPsiSessionGrain : ISessionGrain
{
    /// <summary>PSI, pod: accepts the session (with its fresh RSA public key for rsa-blind); idempotent for the same acceptance.</summary>
    [Alias("psi.accept")] Task<SessionInfo> AcceptPsiAsync(Caller caller, PsiAccept accept);

    /// <summary>PSI, pod: declines or ends the session under its policy; the reason is what the modeller reads.</summary>
    [Alias("psi.decline")] Task<SessionInfo> DeclinePsiAsync(Caller caller, string reason);

    /// <summary>PSI: opens the caller's upload of <paramref name="payload"/> (streamed to a payload with the session's size and element rules).</summary>
    [Alias("psi.upload.begin")] Task<PsiUpload> BeginPsiUploadAsync(Caller caller, PsiPayload payload);

    /// <summary>PSI: records the caller's completed upload of <paramref name="payload"/> (<paramref name="empty"/>: a set with no elements, nothing uploaded).</summary>
    [Alias("psi.upload.commit")] Task<SessionInfo> CommitPsiUploadAsync(Caller caller, PsiPayload payload, bool empty);

    /// <summary>PSI: the payload key to download <paramref name="payload"/>, for the party that receives it; null for an empty set.</summary>
    [Alias("psi.payload")] Task<string?> GetPsiPayloadAsync(Caller caller, PsiPayload payload);

    /// <summary>PSI, pod (pod-counted cardinality): a plain count, refused since ecdh-oprf-v1 (the pod seals its count).</summary>
    [Alias("psi.count")] Task<SessionInfo> ReportPsiCountAsync(Caller caller, long count);

    /// <summary>PSI, pod (pod-counted cardinality): its count, or that it withholds one, sealed to the modeller's count key.</summary>
    [Alias("psi.count.sealed")] Task<SessionInfo> ReportSealedPsiCountAsync(Caller caller, byte[] sealedCount);

    /// <summary>PSI, modeller: finishes the session, reporting the count it chose to record (the matching records never reach the service).</summary>
    [Alias("psi.complete")] Task<SessionInfo> CompletePsiAsync(Caller caller, long? count);
}
