using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Smpc.Contracts;
using Smpc.Grains.Audit;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Sessions.Legacy;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Sessions;

/// <summary>
/// What every session grain does whatever its protocol: create (checks, pod and modeller indexes, audit), get, the long
/// poll, the deadline timer, cancel, the quota's "has ended", audit entries, and the reading of a session stored by the
/// single session grain of earlier versions. Each kind's grain adds its protocol's messages over its coordinator.
/// </summary>
/// <typeparam name="TState">The kind's stored state.</typeparam>
public abstract class SessionGrainBase<TState>(IPersistentState<TState> state, TimeProvider time, IHostApplicationLifetime lifetime)
    : Grain, ISessionGrain, IIncomingGrainCallFilter
    where TState : SessionRecord, new()
{
    /// <summary>Longest a long poll waits (below Orleans' default 30-s response timeout).</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(20);

    /// <summary>Longest reason a canceller may give.</summary>
    public const int MaxCancelReasonLength = 500;

    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IGrainTimer? _deadlineTimer;

    /// <summary>The session as last durably stored: what long polls answer, never a state another call is changing.</summary>
    private SessionInfo? _snapshot;

    /// <summary>The phase as last durably stored and audited, so each save that changes it records one session.phase-changed.</summary>
    private SessionPhase? _lastPhase;

    /// <summary>The stored state (in memory; saved by <see cref="SaveAsync"/>).</summary>
    protected TState Session => state.State;

    /// <summary>True once the session is stored.</summary>
    protected bool Exists => state.RecordExists;

    /// <summary>The service's clock.</summary>
    protected TimeProvider Time => time;

    /// <summary>The session's key.</summary>
    protected EntityKey Key => EntityKey.Parse(this.GetPrimaryKeyString());

    /// <summary>When the session's open step times out, or null.</summary>
    protected abstract DateTimeOffset? Deadline { get; }

    /// <summary>Applies a passed deadline (and saves and audits it).</summary>
    protected abstract Task AdvanceIfDueAsync();

    /// <summary>The kind's protocol status in a session's description.</summary>
    protected abstract SessionInfo Describe(SessionInfo common);

    /// <summary>Whether a stored session equals what <paramref name="command"/> would create (an idempotent create).</summary>
    protected abstract bool SameSession(CreateSession command);

    /// <summary>Fills the kind's state for a new session (phase, spec, first deadline).</summary>
    protected abstract void Initialize(CreateSession command, DateTimeOffset now);

    /// <summary>Copies the kind's part of a session stored by the single session grain of earlier versions.</summary>
    protected abstract void Import(LegacySessionState legacy);

    /// <summary>Clears the kind's deadline when the session is cancelled.</summary>
    protected abstract void OnCancelled();

    /// <summary>Runs before a create is acknowledged (also for an idempotent one), e.g. a round joining its parent.</summary>
    protected virtual Task BeforeCreateAsync(Caller caller, CreateSession command, IReadOnlyList<string> pods) => Task.CompletedTask;

    /// <summary>Clean-up after a cancellation is durable, and again on a repeated cancel (a retry finishes what a crash interrupted).</summary>
    protected virtual Task AfterCancelAsync(Caller caller, string? reason, bool repeated) => Task.CompletedTask;

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
                Reloaded();
                _snapshot = state.RecordExists ? ToInfo() : null;
                _lastPhase = state.RecordExists ? Session.Phase : null;
            }
            catch (Exception)
            {
                this.DeactivateOnIdle();
            }

            throw;
        }
    }

    /// <summary>Drops whatever the kind derived from the state in memory (the state was reloaded from storage).</summary>
    protected virtual void Reloaded()
    {
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!state.RecordExists && await LegacySessionStore.ReadAsync(this, this.GetPrimaryKeyString()) is { } legacy && Handles(legacy.Kind))
        {
            // Stored by the single session grain of earlier versions: it becomes this grain's state, once.
            state.State.CopyFrom(legacy);
            Import(legacy);
            await state.WriteOrRollbackAsync(this, "session.import");
        }

        ScheduleDeadline();
        if (state.RecordExists)
        {
            _snapshot = ToInfo();
            _lastPhase = Session.Phase;
            // Heals an index row a crash left behind (the write was durable, the index update was not) and indexes sessions
            // stored before the index existed. From a timer, not awaited here: the index may be reading this grain.
            this.RegisterGrainTimer(_ => IndexAsync(), new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
        }
    }

    /// <summary>Whether this grain runs sessions of <paramref name="kind"/>.</summary>
    protected abstract bool Handles(SessionKind kind);

    async Task<SessionInfo> ISessionGrain.CreateAsync(Caller caller, CreateSession command)
    {
        var key = Key;
        caller.RequireTenant(key.Tenant, $"Tenant '{key.Tenant}'");
        caller.RequireRole(CallerRole.Modeller);
        if (command.ModellerId != caller.Subject) throw SmpcException.Forbidden("A modeller creates sessions only for itself.");
        using var activity = SmpcTelemetry.Grains.StartActivity("session.create");
        activity?.SetTag(SmpcTelemetry.TenantAttribute, key.Tenant);
        activity?.SetTag(SmpcTelemetry.SessionAttribute, key.Id);

        var pods = CreateRules.Validate(command, key);
        if (state.RecordExists)
        {
            if (Session.ModellerId != caller.Subject) throw SmpcException.Conflict($"Session id '{key.Id}' is taken.");
            if (Session.ModellerId == command.ModellerId && Session.Kind == command.Kind && Session.PodIds.SequenceEqual(pods)
                && SameSession(command) && Session.Parent == command.Parent)
            {
                await BeforeCreateAsync(caller, command, pods);
                await Task.WhenAll(pods.Select(p => GrainFactory.GetPod(new EntityKey(key.Tenant, p)).AddSessionAsync(key.Id)));
                await GrainFactory.GetModeller(new EntityKey(key.Tenant, command.ModellerId)).AddSessionAsync(key.Id);
                return ToInfo();
            }

            throw SmpcException.Conflict($"Session '{key.Id}' already exists with other parameters.");
        }

        if (!Handles(command.Kind)) throw new InvalidOperationException($"A {command.Kind} session was sent to {GetType().Name}.");
        if (!await GrainFactory.GetModeller(new EntityKey(key.Tenant, command.ModellerId)).ExistsAsync())
            throw SmpcException.Invalid($"Modeller '{command.ModellerId}' is not registered in tenant '{key.Tenant}'.");
        var exists = await Task.WhenAll(pods.Select(p => GrainFactory.GetPod(new EntityKey(key.Tenant, p)).ExistsAsync()));
        var missing = pods.Where((_, i) => !exists[i]).ToList();
        if (missing.Count > 0)
            throw SmpcException.Invalid($"Pods not registered in tenant '{key.Tenant}': {string.Join(", ", missing)}.");

        // A round joins its parent first: a crash between the two leaves a round the parent lists but nobody stored, which the
        // modeller's idempotent retry of the create completes.
        await BeforeCreateAsync(caller, command, pods);
        Session.ModellerId = command.ModellerId;
        Session.Parent = command.Parent;
        Session.ModellerSignature = command.ModellerSignature;
        Session.Kind = command.Kind;
        Session.PodIds = pods;
        Session.CreatedAt = time.GetUtcNow();
        Session.UpdatedAt = Session.CreatedAt;
        Session.Version = 1;
        Session.TraceParent = activity?.Id;
        Initialize(command, Session.CreatedAt);

        await state.WriteOrRollbackAsync(this, "session.create");
        _lastPhase = Session.Phase;
        ScheduleDeadline();
        NotifyChanged();
        await IndexAsync();
        // After the session is durable: a crash before this loop leaves pods unaware, and the idempotent retry of the create heals it.
        await Task.WhenAll(pods.Select(p => GrainFactory.GetPod(new EntityKey(key.Tenant, p)).AddSessionAsync(key.Id)));
        await GrainFactory.GetModeller(new EntityKey(key.Tenant, command.ModellerId)).AddSessionAsync(key.Id);
        SmpcTelemetry.SessionsCreated.Add(1, new KeyValuePair<string, object?>("smpc.session.kind", command.Kind.ToString()));
        await AuditAsync(caller, (AuditEventTypes.SessionCreated, $"{KindName} session" + (Session.Parent is { } parent ? $", a round of session {parent}" : "")));
        return ToInfo();
    }

    async Task<SessionInfo> ISessionGrain.GetAsync(Caller caller)
    {
        RequireVisible(caller);
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

    /// <summary>
    /// Its modeller (a run that failed or was interrupted) or the tenant admin ends the session at once, in any phase before
    /// its end. Long polls wake, so pods stop within one poll; every later protocol message is refused as wrong-phase.
    /// </summary>
    async Task<SessionInfo> ISessionGrain.CancelAsync(Caller caller, string? reason, byte[]? signature)
    {
        RequireVisible(caller);
        caller.RequireRole(CallerRole.Modeller, CallerRole.TenantAdmin);
        if (reason is { Length: > MaxCancelReasonLength }) throw SmpcException.Invalid($"A reason is at most {MaxCancelReasonLength} characters.");
        if (Session.Phase == SessionPhase.Cancelled)
        {
            await AfterCancelAsync(caller, Session.Cancellation?.Reason, repeated: true);
            return ToInfo();
        }

        await AdvanceIfDueAsync();
        if (Session.Phase is SessionPhase.Completed or SessionPhase.Failed)
            throw SmpcException.WrongPhase($"The session has already {(Session.Phase == SessionPhase.Completed ? "completed" : "failed")}; there is nothing to cancel.");

        using var activity = SessionSpan("session.cancel");
        var given = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
        // The modeller's signature is kept as sent (over the reason as sent): pods check it, the service cannot make one.
        Session.Cancellation = new SessionCancellation(caller.Role.ToString(), caller.Subject, given, time.GetUtcNow(),
            caller.Role == CallerRole.Modeller ? signature : null, caller.Role == CallerRole.Modeller ? reason : null);
        Session.Phase = SessionPhase.Cancelled;
        OnCancelled();
        await SaveAsync("session.cancel");
        await AuditAsync(caller, (AuditEventTypes.SessionCancelled, given));
        // After the cancellation is durable: what is left is clean-up, which a retry of the cancel repeats.
        await AfterCancelAsync(caller, given, repeated: false);
        return ToInfo();
    }

    /// <summary>Its modeller, its pods and the tenant's admin; other modellers and pods of the tenant do not see it.</summary>
    protected bool MaySee(Caller caller) => caller.Role switch
    {
        CallerRole.TenantAdmin => true,
        CallerRole.Modeller => caller.Subject == Session.ModellerId,
        CallerRole.Pod => Session.PodIds.Contains(caller.Subject!),
        _ => false,
    };

    /// <summary>Not found for anyone of another tenant, anyone who may not see the session, or if there is none.</summary>
    protected void RequireVisible(Caller caller)
    {
        var what = $"Session '{Key.Id}'";
        caller.RequireTenant(Key.Tenant, what);
        if (!state.RecordExists || !MaySee(caller)) throw SmpcException.NotFound(what);
    }

    /// <summary>The calling pod's party index (1..n), or not-found for anyone who is not one of the session's pods.</summary>
    protected int PartyOf(Caller caller)
    {
        RequireVisible(caller);
        caller.RequireRole(CallerRole.Pod);
        RefuseIfCancelled();
        return Session.PodIds.IndexOf(caller.Subject!) + 1;
    }

    /// <summary>The session's modeller (after the visibility checks); refused once cancelled.</summary>
    protected void RequireModeller(Caller caller)
    {
        RequireVisible(caller);
        caller.RequireRole(CallerRole.Modeller);
        RefuseIfCancelled();
    }

    /// <summary>Every protocol message after a cancellation is refused; reads of the session itself still answer.</summary>
    protected void RefuseIfCancelled()
    {
        if (Session.Phase != SessionPhase.Cancelled) return;
        var c = Session.Cancellation;
        var by = c is null ? "" : $" by {(c.By is null ? "the tenant admin" : $"{c.Role.ToLowerInvariant()} {c.By}")}";
        throw SmpcException.WrongPhase($"The session was cancelled{by}{(c?.Reason is { } r ? $": {r}" : "")}.");
    }

    /// <summary>Saves an accepted change (one version more), re-arms the deadline and wakes the long polls.</summary>
    protected async Task SaveAsync(string operation)
    {
        Session.Version++;
        Session.UpdatedAt = time.GetUtcNow();
        if (Session.HasEnded) Session.EndedAt ??= Session.UpdatedAt;
        await state.WriteOrRollbackAsync(this, operation);
        SessionMetrics.Saved(Session.Kind, _snapshot?.Phase, Session.Phase, Session.CreatedAt, time.GetUtcNow());
        ScheduleDeadline();
        NotifyChanged();
        await IndexAsync();
        if (_lastPhase is { } previous && previous != Session.Phase)
        {
            // After the write, before the kind's own events of the same step (e.g. session.completed), so the log reads in order.
            _lastPhase = Session.Phase;
            await AuditAsync(null, (AuditEventTypes.SessionPhaseChanged, $"from {PhaseName(previous)} to {PhaseName(Session.Phase)}"));
        }

        _lastPhase = Session.Phase;
    }

    /// <summary>A failed index update is retried this often (the grain stays active until it succeeds).</summary>
    private static readonly TimeSpan IndexRetry = TimeSpan.FromSeconds(5);

    private IGrainTimer? _indexRetry;

    /// <summary>
    /// Reports the durable state to the tenant's session index (after the write). A failure does not fail the request:
    /// it is logged, counted as a storage failure (operation <c>session.index</c>), and retried by a timer that keeps the
    /// grain active until the index has the row; the index ignores a version older than the one it holds, so retries and
    /// reorderings are harmless. Each activation also reports once (see <see cref="OnActivateAsync"/>).
    /// </summary>
    private async Task IndexAsync()
    {
        if (!state.RecordExists || _snapshot is null) return;
        var row = SessionSummary.From(_snapshot);
        try
        {
            await GrainFactory.GetGrain<ISessionIndexGrain>(Key.Tenant).UpsertAsync(row);
            _indexRetry?.Dispose();
            _indexRetry = null;
        }
        catch (Exception ex)
        {
            SmpcTelemetry.StorageFailures.Add(1, new KeyValuePair<string, object?>("smpc.operation", "session.index"));
            GrainContext.ActivationServices.GetService<ILoggerFactory>()?.CreateLogger("Smpc.Grains.Sessions").LogError("Could not update the session index for session {Session} of tenant {Tenant} (version {Version}); retrying: {Error}",
                Key.Id, Key.Tenant, row.Version, ex.GetType().Name + ": " + ex.Message);
            _indexRetry ??= this.RegisterGrainTimer(_ => IndexAsync(), new GrainTimerCreationOptions(IndexRetry, IndexRetry) { KeepAlive = true });
        }
    }

    /// <summary>A phase as the REST API names it (<c>KeyExchange</c> → <c>key-exchange</c>, as in <c>SessionPhases</c>).</summary>
    private static string PhaseName(SessionPhase phase) =>
        string.Concat(phase.ToString().Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString()));

    /// <summary>The session as the API describes it.</summary>
    protected SessionInfo ToInfo() => Describe(new(
        Key.Tenant, Key.Id, Session.ModellerId!, Session.Kind, Session.PodIds, Session.Phase, Session.CreatedAt, Session.Version,
        TraceParent: Session.TraceParent, Parent: Session.Parent, Cancellation: Session.Cancellation, ModellerSignature: Session.ModellerSignature,
        UpdatedAt: Session.UpdatedAt, EndedAt: Session.EndedAt));

    /// <summary>Wakes every long poll: call after each durable change.</summary>
    private void NotifyChanged()
    {
        _snapshot = ToInfo();
        var waiting = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        waiting.TrySetResult();
    }

    /// <summary>A timer closes a step at its deadline even when nobody calls; calls also check the deadline first.</summary>
    private void ScheduleDeadline()
    {
        _deadlineTimer?.Dispose();
        _deadlineTimer = null;
        if (!state.RecordExists || Deadline is not { } deadline) return;
        var due = deadline - time.GetUtcNow();
        if (due < TimeSpan.Zero) due = TimeSpan.Zero;
        _deadlineTimer = this.RegisterGrainTimer(_ => AdvanceOrReloadAsync(), new GrainTimerCreationOptions(due + TimeSpan.FromMilliseconds(50), Timeout.InfiniteTimeSpan));
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
                Reloaded();
                _snapshot = state.RecordExists ? ToInfo() : null;
                _lastPhase = state.RecordExists ? Session.Phase : null;
                _deadlineTimer?.Dispose(); // try again shortly (storage is probably down)
                _deadlineTimer = this.RegisterGrainTimer(_ => AdvanceOrReloadAsync(), new GrainTimerCreationOptions(TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan));
            }
            catch (Exception)
            {
                this.DeactivateOnIdle();
            }
        }
    }

    /// <summary>
    /// Records session events (type, detail) after the change is durable. <paramref name="caller"/> null: the service
    /// itself (a deadline), traced under the session's own trace rather than whatever timer ran it.
    /// </summary>
    protected Task AuditAsync(Caller? caller, params (string Type, string? Detail)[] events)
    {
        var trace = caller is null && ActivityContext.TryParse(Session.TraceParent, null, out var session) ? session.TraceId.ToHexString() : null;
        var actor = caller is null ? AuditActor.Service : AuditActor.Of(caller);
        return AuditTrail.RecordAsync(this, Key.Tenant,
            [.. events.Select(e => new AuditEvent(e.Type, actor, Key.Id, [.. Session.PodIds], Session.ModellerId, Detail: e.Detail, TraceId: trace))]);
    }

    /// <summary>A pod's first step in the session.</summary>
    protected Task AuditJoinedAsync(Caller caller, string step) => AuditAsync(caller, (AuditEventTypes.SessionJoined, $"{caller.Subject} {step}"));

    /// <summary>The session ended: completed when <paramref name="failureReason"/> is null, else failed with it.</summary>
    protected Task AuditEndedAsync(Caller? caller, string? failureReason, string? detail = null) => failureReason is null
        ? AuditAsync(caller, (AuditEventTypes.SessionCompleted, detail))
        : AuditAsync(caller, (AuditEventTypes.SessionFailed, failureReason));

    /// <summary>A pod declined under its policy, which failed the session.</summary>
    protected Task AuditDeclinedAsync(Caller caller, string reason, string failure) =>
        AuditAsync(caller, (AuditEventTypes.PolicyDeclined, reason), (AuditEventTypes.SessionFailed, failure));

    /// <summary>
    /// A service-side step of the session (it may run from a deadline timer, outside any request): a child of the session's
    /// trace, linked to whatever triggered it.
    /// </summary>
    protected Activity? SessionSpan(string name)
    {
        ActivityContext.TryParse(Session.TraceParent, null, out var sessionTrace);
        var links = Activity.Current is { } trigger ? new[] { new ActivityLink(trigger.Context) } : null;
        var activity = SmpcTelemetry.Grains.StartActivity(name, ActivityKind.Internal, sessionTrace, links: links);
        activity?.SetTag(SmpcTelemetry.SessionAttribute, Key.Id);
        return activity;
    }

    /// <summary>The kind of a session as the REST API names it.</summary>
    private string KindName => Session.Kind switch
    {
        SessionKind.SecureAggregation => "secure-aggregation",
        SessionKind.PrivateSetIntersection => "psi",
        SessionKind.FederatedQuery => "query",
        _ => "training",
    };
}
