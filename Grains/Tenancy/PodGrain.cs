using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Tenancy;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Tenancy;

/// <summary>A data owner. Protocol behaviour (policy, work queue) arrives with the protocol issues.</summary>
[GrainType("pod")]
public sealed class PodGrain(
    [PersistentState("pod", SmpcDatabase.GrainStorageName)] IPersistentState<MemberState> state,
    TimeProvider time) : MemberGrain(state, time, MemberKind.Pod), IPodGrain
{
    Task<Registration<MemberInfo>> IPodGrain.RegisterAsync(Caller caller, string displayName, byte[] identityPublicKey, string keyId, byte[] keyHash) =>
        RegisterCoreAsync(caller, displayName, identityPublicKey, keyId, keyHash);

    Task<MemberInfo> IPodGrain.GetAsync(Caller caller) => GetCoreAsync(caller);

    Task<bool> IPodGrain.ExistsAsync() => ExistsCoreAsync();

    Task IPodGrain.IssueKeyAsync(Caller caller, string keyId, byte[] keyHash) => IssueKeyCoreAsync(caller, keyId, keyHash);
}
