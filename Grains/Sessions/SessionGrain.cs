using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Sessions;

/// <summary>One protocol run: validates each message against its state, persists it, then acknowledges.</summary>
[GrainType("session")]
public sealed partial class SessionGrain(
    [PersistentState("session", SmpcDatabase.GrainStorageName)] IPersistentState<SessionState> state,
    TimeProvider time,
    Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime) : Grain, ISessionGrain, IIncomingGrainCallFilter
{
    /// <summary>
    /// Most pods one session may name. Secure aggregation's n(n − 1) share envelopes live in payloads, not grain state, so n
    /// is bounded by the O(n²) relay at the share exchange's close (≈ 200 × 199 envelopes) and the protocol's 255.
    /// </summary>
    public const int MaxPods = 200;

    /// <summary>Most pods a federated session may name: the client sizes training fields and the gateway bounds content-key boxes for 50.</summary>
    public const int MaxFederatedPods = 50;

    /// <summary>Longest a long poll waits (below Orleans' default 30-s response timeout).</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(20);

    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The session as last durably stored: what long polls answer, never a state another call is changing.</summary>
    private SessionInfo? _snapshot;

    private EntityKey Key => EntityKey.Parse(this.GetPrimaryKeyString());

    /// <summary>
    /// A call that fails on storage may have changed the state in memory before the failure (e.g. a masked vector counted,
    /// then summing the vectors failed): the state is reloaded from storage, or the grain deactivated if even that fails,
    /// so a retry of the same message finds the session exactly as stored and does the step again.
    /// </summary>
    async Task IIncomingGrainCallFilter.Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception ex) when (ex is not SmpcException { Code: not SmpcErrorCode.StorageUnavailable })
        {
            try
            {
                await state.ReadStateAsync();
                _snapshot = state.RecordExists ? ToInfo() : null;
            }
            catch (Exception)
            {
                this.DeactivateOnIdle();
            }

            throw;
        }
    }

    /// <summary>The deadline timer's step; like a failed call, a failed advance leaves the state as stored (see the call filter).</summary>
    private async Task AdvanceOrReloadAsync()
    {
        try
        {
            await AdvanceIfDueAsync();
        }
        catch (Exception)
        {
            try
            {
                await state.ReadStateAsync();
                _snapshot = state.RecordExists ? ToInfo() : null;
                _deadlineTimer?.Dispose(); // try again shortly (storage is probably down)
                _deadlineTimer = this.RegisterGrainTimer(_ => AdvanceOrReloadAsync(), new GrainTimerCreationOptions(TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan));
            }
            catch (Exception)
            {
                this.DeactivateOnIdle();
            }
        }
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        ScheduleDeadline();
        if (state.RecordExists) _snapshot = ToInfo();
        return Task.CompletedTask;
    }

    async Task<SessionInfo> ISessionGrain.CreateAsync(Caller caller, CreateSession command)
    {
        var key = Key;
        caller.RequireTenant(key.Tenant, $"Tenant '{key.Tenant}'");
        caller.RequireRole(CallerRole.Modeller);
        if (command.ModellerId != caller.Subject) throw SmpcException.Forbidden("A modeller creates sessions only for itself.");
        using var activity = SmpcTelemetry.Grains.StartActivity("session.create");
        activity?.SetTag(SmpcTelemetry.TenantAttribute, key.Tenant);
        activity?.SetTag(SmpcTelemetry.SessionAttribute, key.Id);

        var pods = Validate(command);
        if (command.Kind == SessionKind.PrivateSetIntersection) _ = CreatePsi(command.Psi); // refuse a bad spec before any lookup
        if (command.Kind == SessionKind.SecureAggregation) _ = CreateAggregation(command.Aggregation, pods.Count); // and before a round joins its parent
        if (IsFederated(command.Kind)) _ = CreateFederated(command.Federated);
        if (command.Parent is not null && (command.Kind != SessionKind.SecureAggregation || !EntityKey.IsValidId(command.Parent) || command.Parent == key.Id))
            throw SmpcException.Invalid("Only a secure-aggregation session can be a round of a federated session, named by its id.");
        if (state.RecordExists)
        {
            if (state.State.ModellerId != caller.Subject) throw SmpcException.Conflict($"Session id '{key.Id}' is taken.");
            if (state.State.ModellerId == command.ModellerId && state.State.Kind == command.Kind && state.State.PodIds.SequenceEqual(pods)
                && SameSpec(state.State.Aggregation?.Spec, command.Aggregation) && SamePsiSpec(state.State.Psi?.Spec, command.Psi)
                && state.State.Federated?.Spec == command.Federated && state.State.Parent == command.Parent)
            {
                if (command.Parent is not null) await JoinParentAsync(caller, command, pods);
                await Task.WhenAll(pods.Select(p => GrainFactory.GetPod(new EntityKey(key.Tenant, p)).AddSessionAsync(key.Id)));
                await GrainFactory.GetModeller(new EntityKey(key.Tenant, command.ModellerId)).AddSessionAsync(key.Id);
                return ToInfo();
            }
            throw SmpcException.Conflict($"Session '{key.Id}' already exists with other parameters.");
        }

        if (!await GrainFactory.GetModeller(new EntityKey(key.Tenant, command.ModellerId)).ExistsAsync())
            throw SmpcException.Invalid($"Modeller '{command.ModellerId}' is not registered in tenant '{key.Tenant}'.");
        var exists = await Task.WhenAll(pods.Select(p => GrainFactory.GetPod(new EntityKey(key.Tenant, p)).ExistsAsync()));
        var missing = pods.Where((_, i) => !exists[i]).ToList();
        if (missing.Count > 0)
            throw SmpcException.Invalid($"Pods not registered in tenant '{key.Tenant}': {string.Join(", ", missing)}.");

        // A round joins its parent first: a crash between the two leaves a round the parent lists but nobody stored, which the
        // modeller's idempotent retry of the create completes.
        if (command.Parent is not null) await JoinParentAsync(caller, command, pods);
        state.State.ModellerId = command.ModellerId;
        state.State.Parent = command.Parent;
        state.State.Kind = command.Kind;
        state.State.PodIds = pods;
        state.State.CreatedAt = time.GetUtcNow();
        state.State.Version = 1;
        state.State.TraceParent = activity?.Id;
        if (command.Kind == SessionKind.SecureAggregation)
        {
            var aggregation = CreateAggregation(command.Aggregation, pods.Count);
            state.State.Phase = SessionPhase.KeyExchange;
            aggregation.Deadline = state.State.CreatedAt + aggregation.Spec!.TimeoutFor(SessionPhase.KeyExchange);
            state.State.Aggregation = aggregation;
        }
        else if (IsFederated(command.Kind))
        {
            var federated = CreateFederated(command.Federated);
            state.State.Phase = SessionPhase.Running;
            federated.Deadline = state.State.CreatedAt + federated.Spec!.Lifetime;
            state.State.Federated = federated;
        }
        else
        {
            var psi = CreatePsi(command.Psi);
            state.State.Phase = SessionPhase.AwaitingPod;
            psi.Deadline = state.State.CreatedAt + psi.Spec!.Timeout;
            state.State.Psi = psi;
        }

        await state.WriteOrRollbackAsync(this, "session.create");
        ScheduleDeadline();
        NotifyChanged();
        // After the session is durable: a crash before this loop leaves pods unaware, and the idempotent retry of the create heals it.
        await Task.WhenAll(pods.Select(p => GrainFactory.GetPod(new EntityKey(key.Tenant, p)).AddSessionAsync(key.Id)));
        await GrainFactory.GetModeller(new EntityKey(key.Tenant, command.ModellerId)).AddSessionAsync(key.Id);
        SmpcTelemetry.SessionsCreated.Add(1, new KeyValuePair<string, object?>("smpc.session.kind", command.Kind.ToString()));
        await AuditCreatedAsync(caller);
        return ToInfo();
    }

    async Task<SessionInfo> ISessionGrain.GetAsync(Caller caller)
    {
        var what = $"Session '{Key.Id}'";
        caller.RequireTenant(Key.Tenant, what);
        if (!state.RecordExists || !MaySee(caller)) throw SmpcException.NotFound(what);
        await AdvanceIfDueAsync();
        return ToInfo();
    }

    async Task<SessionInfo> ISessionGrain.WaitForChangeAsync(Caller caller, int knownVersion, TimeSpan timeout)
    {
        // Interleaves with other calls, so it reads only the snapshot of the last durable state; every save wakes it.
        var what = $"Session '{Key.Id}'";
        caller.RequireTenant(Key.Tenant, what);
        if (_snapshot is null || !MaySee(caller)) throw SmpcException.NotFound(what);
        if (_snapshot.Version == knownVersion)
        {
            var wait = timeout <= TimeSpan.Zero ? TimeSpan.Zero : timeout > MaxWait ? MaxWait : timeout;
            // A stopping silo answers long polls at once, so they never hold up a graceful shutdown; clients poll again.
            await Task.WhenAny(_changed.Task, Task.Delay(wait, lifetime.ApplicationStopping));
        }

        return _snapshot;
    }

    Task<bool> ISessionGrain.HasEndedAsync() =>
        Task.FromResult(_snapshot is null || _snapshot.Phase is SessionPhase.Completed or SessionPhase.Failed or SessionPhase.Cancelled);

    /// <summary>Wakes every long poll: call after each durable change.</summary>
    private void NotifyChanged()
    {
        _snapshot = ToInfo();
        var waiting = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        waiting.TrySetResult();
    }

    /// <summary>Its modeller, its pods and the tenant's admin; other modellers and pods of the tenant do not see it.</summary>
    private bool MaySee(Caller caller) => caller.Role switch
    {
        CallerRole.TenantAdmin => true,
        CallerRole.Modeller => caller.Subject == state.State.ModellerId,
        CallerRole.Pod => state.State.PodIds.Contains(caller.Subject!),
        _ => false,
    };

    private static List<string> Validate(CreateSession command)
    {
        if (!EntityKey.IsValidId(command.ModellerId)) throw SmpcException.Invalid("modellerId is not a valid id.");
        if (!Enum.IsDefined(command.Kind)) throw SmpcException.Invalid("kind is not a known session kind.");
        var pods = command.PodIds ?? [];
        if (pods.Any(p => !EntityKey.IsValidId(p))) throw SmpcException.Invalid("podIds contains an invalid id.");
        if (pods.Distinct(StringComparer.Ordinal).Count() != pods.Count) throw SmpcException.Invalid("podIds contains duplicates.");
        var (min, max) = command.Kind switch
        {
            SessionKind.PrivateSetIntersection => (1, 1),
            SessionKind.SecureAggregation => (3, MaxPods),
            _ => (3, MaxFederatedPods),
        };
        if (pods.Count < min || pods.Count > max)
            throw SmpcException.Invalid(min == max
                ? $"A {command.Kind} session takes exactly {min} pod."
                : $"A {command.Kind} session takes {min} to {max} pods.");
        return [.. pods];
    }

    private SessionInfo ToInfo() => new(
        Key.Tenant, Key.Id, state.State.ModellerId!, state.State.Kind, state.State.PodIds,
        state.State.Phase, state.State.CreatedAt, state.State.Version, AggregationStatus(), state.State.TraceParent, PsiStatus(),
        FederatedStatus(), state.State.Parent, state.State.Cancellation);

    private static bool IsFederated(SessionKind kind) => kind is SessionKind.FederatedQuery or SessionKind.FederatedTraining;

    private Task JoinParentAsync(Caller caller, CreateSession command, IReadOnlyList<string> pods) =>
        GrainFactory.GetSession(new EntityKey(Key.Tenant, command.Parent!)).AddRoundAsync(caller, command.Aggregation?.Input ?? "", Key.Id, pods);
}
