using Microsoft.Extensions.Hosting;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Sessions.Legacy;
using Smpc.Grains.Storage;
using Smpc.Protocols.Coordination;
using Smpc.Protocols.Federated;
using Step = Smpc.Protocols.Coordination.CoordinatorStep<Smpc.Protocols.Federated.FederatedRunState, Smpc.Protocols.Federated.FederatedEvent>;

namespace Smpc.Grains.Sessions;

/// <summary>
/// Federated query and training sessions (DESIGN.md §3.2, §3.3) as the service runs them, over
/// <see cref="FederatedCoordinator"/>: the parent session holds the modeller's typed spec (checked on create against the
/// rules in <c>Protocols/Federated</c>, see <see cref="CreateRules.FederatedLifetime"/>), the pods' signed member
/// keys, the content key sealed to each, the releases between rounds (ciphertext in payloads, deleted at the end) and the
/// metrics the modeller publishes. Each round is a secure-aggregation session that names this one as its parent.
/// </summary>
[GrainType("session-federated")]
public sealed class FederatedSessionGrain(
    [PersistentState("federated", SmpcDatabase.GrainStorageName)] IPersistentState<FederatedSessionState> state,
    TimeProvider time,
    IHostApplicationLifetime lifetime) : SessionGrainBase<FederatedSessionState>(state, time, lifetime), IFederatedSessionGrain
{
    /// <summary>Largest release (e.g. a model's global parameters): 64 MiB of ciphertext.</summary>
    public const long MaxReleaseBytes = 64L * 1024 * 1024;

    private FederatedRunState Run => Session.Run;

    private FederatedCoordinator Coordinator => new(new FederatedSessionRules(Key.Tenant, Key.Id, Session.PodIds, Session.Lifetime));

    /// <summary>True once the session holds its spec (a grain with no session holds none).</summary>
    private bool HasSpec => Session.Query is not null || Session.Training is not null;

    protected override DateTimeOffset? Deadline => HasSpec ? Run.Deadline : null;

    protected override bool Handles(SessionKind kind) => CreateRules.IsFederated(kind);

    protected override bool SameSession(CreateSession command) =>
        FederatedRequests.Same(Session.Query, QueryOf(command)) && FederatedRequests.Same(Session.Training, TrainingOf(command));

    protected override void Initialize(CreateSession command, DateTimeOffset now)
    {
        Session.Query = QueryOf(command);
        Session.Training = TrainingOf(command);
        Session.Lifetime = CreateRules.FederatedLifetime(command);
        Session.Run = Coordinator.Start(now);
        Session.Phase = SessionPhase.Running;
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        ConvertStoredSpec();
        return base.OnActivateAsync(cancellationToken);
    }

    protected override void Reloaded() => ConvertStoredSpec();

    protected override void Import(LegacySessionState legacy)
    {
        var f = legacy.Federated ?? new LegacyFederatedState();
        if (f.Spec is { } stored)
        {
            (Session.Query, Session.Training) = stored.ToSpec(legacy.Kind);
            Session.Lifetime = stored.Lifetime;
        }

        Session.Run = new FederatedRunState
        {
            Phase = Phase(legacy.Phase),
            Deadline = f.Deadline,
            MemberKeys = Run.MemberKeys.SetItems(f.MemberKeys.Select(m => KeyValuePair.Create(m.Key, new FederatedMemberKey(m.Value.PublicKey, m.Value.Signature)))),
            SealedKeys = Run.SealedKeys.SetItems(f.SealedKeys),
            Rounds = [.. f.Rounds.Select(r => new FederatedRoundRecord(r.Round, r.SessionId, r.CreatedAt, r.PodIds ?? []))],
            Releases = [.. f.Releases],
            Metrics = [.. f.Metrics.Select(m => new FederatedMetricsRecord(m.Round, m.Values, m.ReportedAt))],
            FailureReason = f.FailureReason,
        };
    }

    protected override void OnCancelled() => Session.Run = Run with { Phase = FederatedPhase.Cancelled, Deadline = null };

    /// <summary>Releases are deleted and the rounds cancelled with the session (a repeated cancel only finishes the rounds).</summary>
    protected override async Task AfterCancelAsync(Caller caller, string? reason, bool repeated)
    {
        if (!repeated) await DeleteReleasesAsync();
        await CancelRoundsAsync(caller, reason);
    }

    protected override SessionInfo Describe(SessionInfo common)
    {
        if (!HasSpec) return common;
        var f = Run;
        return common with
        {
            Federated = new FederatedStatus(Session.Query, Session.Training,
                f.MemberKeys.ToDictionary(m => m.Key, m => new MemberKey(m.Value.PublicKey, m.Value.Signature)),
                f.SealedKeys.ToDictionary(b => b.Key, b => b.Value),
                [.. f.Rounds.Select(r => new FederatedRound(r.Round, r.SessionId, r.CreatedAt, r.PodIds))], [.. f.Releases],
                [.. f.Metrics.Select(m => new RoundMetrics(m.Round, m.Values, m.ReportedAt))], f.Deadline, f.FailureReason),
        };
    }

    async Task<SessionInfo> IFederatedSessionGrain.AddRoundAsync(Caller caller, string round, string sessionId, IReadOnlyList<string> podIds)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        using var activity = SessionSpan("federated.round");
        activity?.SetTag("smpc.round", round);
        await ApplyAsync(Coordinator.AddRound(Run, round, sessionId, podIds, Time.GetUtcNow()), "federated.round", caller);
        return ToInfo();
    }

    async Task<SessionInfo> IFederatedSessionGrain.SubmitMemberKeyAsync(Caller caller, byte[] publicKey, byte[] signature)
    {
        _ = PartyOf(caller);
        await AdvanceIfDueAsync();
        var pod = caller.Subject!;
        using var activity = SessionSpan("federated.member_key");
        var registered = await GrainFactory.GetPod(new EntityKey(Key.Tenant, pod)).GetAsync(caller);
        await ApplyAsync(Coordinator.SubmitMemberKey(Run, pod, publicKey, signature, registered.IdentityPublicKey), "federated.member-key", caller);
        return ToInfo();
    }

    async Task<SessionInfo> IFederatedSessionGrain.SubmitSealedKeysAsync(Caller caller, IReadOnlyDictionary<string, byte[]> boxes)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        using var activity = SessionSpan("federated.sealed_keys");
        await ApplyAsync(Coordinator.SubmitSealedKeys(Run, boxes), "federated.sealed-keys", caller);
        return ToInfo();
    }

    async Task<PsiUpload> IFederatedSessionGrain.BeginReleaseAsync(Caller caller, string name)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        if (!EntityKey.IsValidId(name) || name.Length > 64) throw SmpcException.Invalid("A release is named by an id of at most 64 characters.");
        Refuse(Coordinator.CheckReleaseUpload(Run, name));
        var rules = new PayloadConstraints(0, 1 << 20, null, MaxLength: MaxReleaseBytes);
        var key = ReleaseKey(name);
        var uploadId = await GrainFactory.GetPayload(key).BeginAsync(rules);
        return new PsiUpload(key.ToString(), uploadId, rules.ChunkBytes, MaxReleaseBytes, 1);
    }

    async Task<SessionInfo> IFederatedSessionGrain.CommitReleaseAsync(Caller caller, string name)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        if (Run.Releases.Contains(name)) return ToInfo(); // a retry: the payload grain already refused different bytes
        Refuse(FederatedCoordinator.CheckRunning(Run));
        var manifest = await GrainFactory.GetPayload(ReleaseKey(name)).GetManifestAsync();
        var step = Coordinator.CommitRelease(Run, name, manifest.Length);
        if (step.IsRefused) await GrainFactory.GetPayload(ReleaseKey(name)).DeleteAsync(); // not a release: free the name for a correct upload
        using var activity = SessionSpan("federated.release");
        activity?.SetTag("smpc.release", name);
        activity?.SetTag(SmpcTelemetry.BytesAttribute, manifest.Length);
        await ApplyAsync(step, "federated.release", caller);
        return ToInfo();
    }

    async Task<string> IFederatedSessionGrain.GetReleaseAsync(Caller caller, string name)
    {
        RequireVisible(caller);
        if (caller.Role is not (CallerRole.Pod or CallerRole.Modeller)) throw SmpcException.NotFound($"Session '{Key.Id}'");
        RefuseIfCancelled();
        await AdvanceIfDueAsync();
        if (!Run.Releases.Contains(name)) throw SmpcException.NotFound($"Release '{name}'");
        Refuse(FederatedCoordinator.CheckReleaseRead(Run));
        return ReleaseKey(name).ToString();
    }

    async Task<SessionInfo> IFederatedSessionGrain.DeclineFederatedAsync(Caller caller, string reason)
    {
        _ = PartyOf(caller);
        await AdvanceIfDueAsync();
        using var activity = SessionSpan("federated.decline");
        await ApplyAsync(Coordinator.Decline(Run, caller.Subject!, reason), "federated.end", caller);
        return ToInfo();
    }

    async Task<SessionInfo> IFederatedSessionGrain.ReportRoundMetricsAsync(Caller caller, string round, IReadOnlyDictionary<string, double> values)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        using var activity = SessionSpan("federated.metrics");
        activity?.SetTag("smpc.round", round);
        await ApplyAsync(Coordinator.ReportMetrics(Run, round, values, Time.GetUtcNow()), "federated.metrics", caller);
        return ToInfo();
    }

    async Task<SessionInfo> IFederatedSessionGrain.FinishFederatedAsync(Caller caller, string? failureReason)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        using var activity = SessionSpan("federated.finish");
        await ApplyAsync(Coordinator.Finish(Run, failureReason), "federated.end", caller);
        return ToInfo();
    }

    protected override Task AdvanceIfDueAsync() =>
        !HasSpec || Run.Deadline is not { } deadline || Time.GetUtcNow() < deadline
            ? Task.CompletedTask
            : ApplyAsync(Coordinator.AdvanceIfDue(Run, Time.GetUtcNow()), "federated.end", null);

    /// <summary>Stores what the coordinator decided, saves, counts the step, deletes an ended session's releases, and audits.</summary>
    private async Task ApplyAsync(Step step, string operation, Caller? caller)
    {
        if (step.Refusal is { } refusal) throw refusal.ToException();
        if (!step.Changed) return;
        Session.Run = step.State;
        Session.Phase = Phase(step.State.Phase);
        await SaveAsync(operation);
        var audit = new List<(string Type, string? Detail)>();
        foreach (var e in step.Events)
        {
            switch (e)
            {
                case FederatedEvent.StepTaken taken:
                    SmpcTelemetry.FederatedSteps.Add(1, new KeyValuePair<string, object?>("smpc.step", taken.Step),
                        new KeyValuePair<string, object?>("smpc.session.kind", Session.Kind.ToString()));
                    break;
                case FederatedEvent.MemberJoined joined:
                    audit.Add((AuditEventTypes.SessionJoined, $"{joined.Pod} published its member key"));
                    break;
                case FederatedEvent.Ended ended:
                    await DeleteReleasesAsync();
                    if (ended.Declined is { } reason) audit.Add((AuditEventTypes.PolicyDeclined, reason));
                    audit.Add(ended.FailureReason is null ? (AuditEventTypes.SessionCompleted, null) : (AuditEventTypes.SessionFailed, ended.FailureReason));
                    break;
            }
        }

        if (audit.Count > 0) await AuditAsync(caller, [.. audit]);
    }

    /// <summary>Cancels a federated session's rounds that have not ended (each refuses its later messages on its own).</summary>
    private async Task CancelRoundsAsync(Caller caller, string? reason)
    {
        var because = $"its federated session {Key.Id} was cancelled" + (reason is null ? "" : $": {reason}");
        foreach (var round in Run.Rounds)
        {
            var grain = GrainFactory.GetSession(new EntityKey(Key.Tenant, round.SessionId));
            if (await grain.HasEndedAsync()) continue;
            try
            {
                await grain.CancelAsync(caller, because.Length > MaxCancelReasonLength ? because[..MaxCancelReasonLength] : because, null);
            }
            catch (SmpcException ex) when (ex.Code is SmpcErrorCode.WrongPhase or SmpcErrorCode.NotFound)
            {
                // ended meanwhile, or never stored (a round the parent lists whose create did not finish)
            }
        }
    }

    /// <summary>Once a session ends its releases are of no use to anyone: delete them (best effort).</summary>
    private async Task DeleteReleasesAsync()
    {
        foreach (var name in Run.Releases)
        {
            try
            {
                await GrainFactory.GetPayload(ReleaseKey(name)).DeleteAsync();
            }
            catch (Exception)
            {
                // Best effort; a storage failure was counted by the payload grain.
            }
        }
    }

    /// <summary>
    /// A session stored before typed specs holds the request as JSON (<see cref="LegacyFederatedSpec"/>): it is read as the
    /// typed spec here, and the session's next save stores the typed spec in its place.
    /// </summary>
    private void ConvertStoredSpec()
    {
        if (Session.Spec is not { } stored) return;
        (Session.Query, Session.Training) = stored.ToSpec(Session.Kind);
        Session.Lifetime = stored.Lifetime;
        Session.Spec = null;
    }

    /// <summary>The command's spec of the query kind (a spec of the other kind is not this session's).</summary>
    private static FederatedQuerySpec? QueryOf(CreateSession command) => command.Kind == SessionKind.FederatedQuery ? command.Query : null;

    private static FederatedTrainingSpec? TrainingOf(CreateSession command) => command.Kind == SessionKind.FederatedTraining ? command.Training : null;

    private PayloadKey ReleaseKey(string name) => new(Key, "release-" + name);

    private static void Refuse(Refusal? refusal)
    {
        if (refusal is not null) throw refusal.ToException();
    }

    private static SessionPhase Phase(FederatedPhase phase) => phase switch
    {
        FederatedPhase.Running => SessionPhase.Running,
        FederatedPhase.Completed => SessionPhase.Completed,
        FederatedPhase.Failed => SessionPhase.Failed,
        _ => SessionPhase.Cancelled,
    };

    private static FederatedPhase Phase(SessionPhase phase) => phase switch
    {
        SessionPhase.Running => FederatedPhase.Running,
        SessionPhase.Completed => FederatedPhase.Completed,
        SessionPhase.Failed => FederatedPhase.Failed,
        _ => FederatedPhase.Cancelled,
    };
}
