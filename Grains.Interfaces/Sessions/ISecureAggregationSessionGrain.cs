using Orleans.Concurrency;
using Smpc.Grains.Interfaces.Access;

namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>A secure-aggregation session (DESIGN.md §3.1), alone or as a round of a federated session. Keyed <c>"{tenant}/{session}"</c>.</summary>
[Alias("smpc.session.secagg")]
public interface ISecureAggregationSessionGrain : ISessionGrain
{
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
}
