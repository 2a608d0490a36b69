using Smpc.Grains.Interfaces.Tenancy;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Tenancy;

/// <summary>A data owner. Protocol behaviour (keys, policy) arrives with the protocol issues.</summary>
[GrainType("pod")]
public sealed class PodGrain(
    [PersistentState("pod", SmpcDatabase.GrainStorageName)] IPersistentState<MemberState> state,
    TimeProvider time) : MemberGrain(state, time, MemberKind.Pod), IPodGrain
{
    Task<MemberInfo> IPodGrain.RegisterAsync(string displayName) => RegisterCoreAsync(displayName);

    Task<MemberInfo> IPodGrain.GetAsync() => GetCoreAsync();

    Task<bool> IPodGrain.ExistsAsync() => ExistsCoreAsync();
}
