using Orleans.Concurrency;
using Smpc.Grains.Interfaces.Access;

namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>One protocol run. Keyed <c>"{tenant}/{session}"</c>.</summary>
[Alias("smpc.session")]
public interface ISessionGrain : IGrainWithStringKey
{
    /// <summary>A modeller creates the session for itself, after checks that its pods exist in the tenant; idempotent for an identical command.</summary>
    [Alias("create")] Task<SessionInfo> CreateAsync(Caller caller, CreateSession command);

    /// <summary>The session, for its modeller, its pods and the tenant's admin; not found for anyone else.</summary>
    [Alias("get")] Task<SessionInfo> GetAsync(Caller caller);

    /// <summary>
    /// Long poll: answers as soon as the session's version differs from <paramref name="knownVersion"/>, or after
    /// <paramref name="timeout"/> (at most 20 s) with the unchanged session. Read-only, so it may interleave with other calls.
    /// </summary>
    [Alias("wait"), AlwaysInterleave] Task<SessionInfo> WaitForChangeAsync(Caller caller, int knownVersion, TimeSpan timeout);

    /// <summary>Step 1: a pod publishes its signed key bundle (idempotent for the same bytes).</summary>
    [Alias("secagg.keys")] Task<SessionInfo> SubmitKeyBundleAsync(Caller caller, [Immutable] byte[] bundle);

    /// <summary>Every published key bundle (from step 2 on), for the session's pods and modeller.</summary>
    [Alias("secagg.keys.get")] Task<IReadOnlyList<byte[]>> GetKeyBundlesAsync(Caller caller);

    /// <summary>Step 2: a pod hands over its sealed share envelopes, one for every other key-bundle sender.</summary>
    [Alias("secagg.shares")] Task<SessionInfo> SubmitShareEnvelopesAsync(Caller caller, [Immutable] IReadOnlyList<byte[]> envelopes);

    /// <summary>The envelopes addressed to the calling pod (from step 3 on).</summary>
    [Alias("secagg.shares.get")] Task<IReadOnlyList<byte[]>> GetShareEnvelopesAsync(Caller caller);

    /// <summary>Step 3: opens the calling pod's masked-vector upload (streamed to a payload with the field's constraints).</summary>
    [Alias("secagg.masked.begin")] Task<MaskedUpload> BeginMaskedInputAsync(Caller caller);

    /// <summary>Step 3: records the pod's completed masked-vector payload.</summary>
    [Alias("secagg.masked.commit")] Task<SessionInfo> CommitMaskedInputAsync(Caller caller);

    /// <summary>A pod declines (or reports its own failure) with a reason category; it is dropped at once and the phase closes as soon as every pod has acted or declined.</summary>
    [Alias("secagg.decline")] Task<SessionInfo> DeclineAggregationAsync(Caller caller, string category);

    /// <summary>The unmask request (survivors and share senders), for survivors and the modeller (from step 4 on).</summary>
    [Alias("secagg.unmask.get")] Task<byte[]> GetUnmaskRequestAsync(Caller caller);

    /// <summary>Step 4: a survivor's response, sealed to the modeller (idempotent for the same bytes).</summary>
    [Alias("secagg.unmask")] Task<SessionInfo> SubmitUnmaskResponseAsync(Caller caller, [Immutable] byte[] response);

    /// <summary>What the modeller needs to compute the result in its client.</summary>
    [Alias("secagg.material")] Task<UnmaskMaterial> GetUnmaskMaterialAsync(Caller caller);

    /// <summary>The modeller reports that it computed the result from these parties (the result itself never reaches the service).</summary>
    [Alias("secagg.complete")] Task<SessionInfo> CompleteAsync(Caller caller, IReadOnlyList<int> includedParties);

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

    /// <summary>PSI, pod (pod-counted cardinality): the intersection size it found, at or above its minimum.</summary>
    [Alias("psi.count")] Task<SessionInfo> ReportPsiCountAsync(Caller caller, long count);

    /// <summary>PSI, modeller: finishes the session, reporting the count it chose to record (the matching records never reach the service).</summary>
    [Alias("psi.complete")] Task<SessionInfo> CompletePsiAsync(Caller caller, long? count);

    /// <summary>Its modeller or the tenant admin cancels the session (and a federated session's rounds); idempotent once cancelled.</summary>
    [Alias("cancel")] Task<SessionInfo> CancelAsync(Caller caller, string? reason);

    /// <summary>For the tenant's session quota: true once the session has completed, failed or been cancelled, or if it was never created.</summary>
    [Alias("has-ended"), AlwaysInterleave] Task<bool> HasEndedAsync();

    /// <summary>Federated, parent: a round (a secure-aggregation session of the same modeller, over pods of this session) joins it; idempotent.</summary>
    [Alias("fed.round")] Task<SessionInfo> AddRoundAsync(Caller caller, string round, string sessionId, IReadOnlyList<string> podIds);

    /// <summary>Federated, pod: publishes its member key (X25519, signed by its registered identity key); idempotent for the same key.</summary>
    [Alias("fed.member-key")] Task<SessionInfo> SubmitMemberKeyAsync(Caller caller, [Immutable] byte[] publicKey, [Immutable] byte[] signature);

    /// <summary>Federated, modeller: the content key sealed to every pod's member key; idempotent for the same boxes.</summary>
    [Alias("fed.sealed-keys")] Task<SessionInfo> SubmitSealedKeysAsync(Caller caller, [Immutable] IReadOnlyDictionary<string, byte[]> boxes);

    /// <summary>Federated, modeller: opens the upload of release <paramref name="name"/> (ciphertext under the content key).</summary>
    [Alias("fed.release.begin")] Task<PsiUpload> BeginReleaseAsync(Caller caller, string name);

    /// <summary>Federated, modeller: records the completed upload of release <paramref name="name"/>.</summary>
    [Alias("fed.release.commit")] Task<SessionInfo> CommitReleaseAsync(Caller caller, string name);

    /// <summary>Federated: the payload key of release <paramref name="name"/>, for the session's pods and modeller.</summary>
    [Alias("fed.release.get")] Task<string> GetReleaseAsync(Caller caller, string name);

    /// <summary>Federated, pod: declines under its policy; the session fails with the pod's reason.</summary>
    [Alias("fed.decline")] Task<SessionInfo> DeclineFederatedAsync(Caller caller, string reason);

    /// <summary>Federated, modeller: publishes metrics of one round (stored as given); idempotent for the same values.</summary>
    [Alias("fed.metrics")] Task<SessionInfo> ReportRoundMetricsAsync(Caller caller, string round, IReadOnlyDictionary<string, double> values);

    /// <summary>Federated, modeller: ends the session, completed or (with a reason) failed.</summary>
    [Alias("fed.finish")] Task<SessionInfo> FinishFederatedAsync(Caller caller, string? failureReason);
}
