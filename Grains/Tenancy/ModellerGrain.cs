using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Tenancy;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Tenancy;

/// <summary>A data scientist.</summary>
[GrainType("modeller")]
public sealed class ModellerGrain(
    [PersistentState("modeller", SmpcDatabase.GrainStorageName)] IPersistentState<MemberState> state,
    TimeProvider time) : MemberGrain(state, time, MemberKind.Modeller), IModellerGrain
{
    Task<Registration<MemberInfo>> IModellerGrain.RegisterAsync(Caller caller, string displayName, string keyId, byte[] keyHash) =>
        RegisterCoreAsync(caller, displayName, [], keyId, keyHash);

    Task<MemberInfo> IModellerGrain.GetAsync(Caller caller) => GetCoreAsync(caller);

    Task<bool> IModellerGrain.ExistsAsync() => ExistsCoreAsync();

    Task IModellerGrain.IssueKeyAsync(Caller caller, string keyId, byte[] keyHash) => IssueKeyCoreAsync(caller, keyId, keyHash);
}
