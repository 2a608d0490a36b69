using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Tenancy;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Tenancy;

/// <summary>A data owner. Protocol behaviour (policy, work queue) arrives with the protocol issues.</summary>
[GrainType("pod")]
public sealed class PodGrain(
    [PersistentState("pod", SmpcDatabase.GrainStorageName)] IPersistentState<MemberState> state,
    TimeProvider time,
    Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime) : MemberGrain(state, time, MemberKind.Pod), IPodGrain
{
    Task<Registration<MemberInfo>> IPodGrain.RegisterAsync(Caller caller, string displayName, byte[] identityPublicKey, string keyId, byte[] keyHash) =>
        RegisterCoreAsync(caller, displayName, identityPublicKey, keyId, keyHash);

    Task<MemberInfo> IPodGrain.GetAsync(Caller caller) => GetCoreAsync(caller);

    Task<bool> IPodGrain.ExistsAsync() => ExistsCoreAsync();

    Task IPodGrain.IssueKeyAsync(Caller caller, string keyId, byte[] keyHash) => IssueKeyCoreAsync(caller, keyId, keyHash);

    Task<IReadOnlyList<string>> IPodGrain.ListKeyIdsAsync(Caller caller) => ListKeyIdsCoreAsync(caller);

    /// <summary>How many recent sessions a pod's list keeps (older ones drop off; their sessions are unaffected).</summary>
    public const int MaxListedSessions = 500;

    private TaskCompletionSource _sessionsChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The session list as last durably stored: what long polls answer.</summary>
    private IReadOnlyList<string> _sessions = [];

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _sessions = [.. Persisted.State.Sessions];
        return Task.CompletedTask;
    }

    async Task<IReadOnlyList<string>> IPodGrain.WaitForNewSessionAsync(Caller caller, string? newestKnown, TimeSpan timeout)
    {
        caller.RequireTenant(Key.Tenant, $"Pod '{Key.Id}'");
        if (!caller.Is(CallerRole.Pod, Key.Tenant, Key.Id)) throw SmpcException.Forbidden("Only the pod itself waits for its work.");
        // "-" (never a valid id) stands for "no sessions yet".
        if ((_sessions.LastOrDefault() ?? "-") == (string.IsNullOrEmpty(newestKnown) ? "-" : newestKnown))
            // A stopping silo answers at once (see SessionGrainBase.WaitForChangeAsync).
            await Task.WhenAny(_sessionsChanged.Task, Task.Delay(timeout > TimeSpan.FromSeconds(20) ? TimeSpan.FromSeconds(20) : timeout, lifetime.ApplicationStopping));
        return _sessions;
    }

    async Task IPodGrain.AddSessionAsync(string sessionId)
    {
        var sessions = Persisted.State.Sessions;
        if (sessions.Contains(sessionId)) return;
        sessions.Add(sessionId);
        if (sessions.Count > MaxListedSessions) sessions.RemoveAt(0);
        await Persisted.WriteOrRollbackAsync(this, "pod.add-session");
        _sessions = [.. sessions];
        var waiting = _sessionsChanged;
        _sessionsChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        waiting.TrySetResult();
    }

    Task<IReadOnlyList<string>> IPodGrain.ListSessionsAsync(Caller caller)
    {
        caller.RequireTenant(Key.Tenant, $"Pod '{Key.Id}'");
        if (!caller.Is(CallerRole.Pod, Key.Tenant, Key.Id) && caller.Role != CallerRole.TenantAdmin)
            throw SmpcException.Forbidden("Only the pod itself and its tenant's admin list its sessions.");
        return Task.FromResult<IReadOnlyList<string>>([.. Persisted.State.Sessions]);
    }
}
