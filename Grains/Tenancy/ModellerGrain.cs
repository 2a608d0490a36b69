using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Tenancy;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Tenancy;

/// <summary>A data scientist.</summary>
[GrainType("modeller")]
public sealed class ModellerGrain(
    [PersistentState("modeller", SmpcDatabase.GrainStorageName)] IPersistentState<MemberState> state,
    TimeProvider time) : MemberGrain(state, time, MemberKind.Modeller), IModellerGrain
{
    Task<Registration<MemberInfo>> IModellerGrain.RegisterAsync(Caller caller, string displayName, byte[] identityPublicKey, string keyId, byte[] keyHash) =>
        RegisterCoreAsync(caller, displayName, identityPublicKey, keyId, keyHash);

    Task<MemberInfo> IModellerGrain.GetAsync(Caller caller) => GetCoreAsync(caller);

    Task<bool> IModellerGrain.ExistsAsync() => ExistsCoreAsync();

    Task IModellerGrain.IssueKeyAsync(Caller caller, string keyId, byte[] keyHash) => IssueKeyCoreAsync(caller, keyId, keyHash);

    Task<IReadOnlyList<string>> IModellerGrain.ListKeyIdsAsync(Caller caller) => ListKeyIdsCoreAsync(caller);

    async Task IModellerGrain.AddSessionAsync(string sessionId)
    {
        var sessions = Persisted.State.Sessions;
        if (sessions.Contains(sessionId)) return;
        sessions.Add(sessionId);
        if (sessions.Count > PodGrain.MaxListedSessions) sessions.RemoveAt(0);
        await Persisted.WriteOrRollbackAsync(this, "modeller.add-session");
    }

    Task<IReadOnlyList<string>> IModellerGrain.ListSessionsAsync(Caller caller)
    {
        caller.RequireTenant(Key.Tenant, $"Modeller '{Key.Id}'");
        if (!caller.Is(CallerRole.Modeller, Key.Tenant, Key.Id) && caller.Role != CallerRole.TenantAdmin)
            throw SmpcException.Forbidden("Only the modeller itself and its tenant's admin list its sessions.");
        return Task.FromResult<IReadOnlyList<string>>([.. Persisted.State.Sessions]);
    }
}
