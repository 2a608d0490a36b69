using Smpc.Grains.Interfaces.Tenancy;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Tenancy;

/// <summary>A data scientist.</summary>
[GrainType("modeller")]
public sealed class ModellerGrain(
    [PersistentState("modeller", SmpcDatabase.GrainStorageName)] IPersistentState<MemberState> state,
    TimeProvider time) : MemberGrain(state, time, MemberKind.Modeller), IModellerGrain
{
    Task<MemberInfo> IModellerGrain.RegisterAsync(string displayName) => RegisterCoreAsync(displayName);

    Task<MemberInfo> IModellerGrain.GetAsync() => GetCoreAsync();

    Task<bool> IModellerGrain.ExistsAsync() => ExistsCoreAsync();
}
