using Microsoft.Extensions.Hosting;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Sessions.Legacy;
using Smpc.Grains.Storage;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Federated;

namespace Smpc.Grains.Sessions;

/// <summary>
/// Federated query and training sessions (DESIGN.md §3.2, §3.3) as the service runs them: a parent session that holds the
/// modeller's request, the pods' signed member keys, the modeller's content key sealed to each of them, the releases
/// between rounds (ciphertext the service cannot open) and the metrics the modeller publishes. Each round is an ordinary
/// secure-aggregation session that names this one as its parent. A pod that declines ends the session with its reason.
/// </summary>
[GrainType("session-federated")]
public sealed class FederatedSessionGrain(
    [PersistentState("federated", SmpcDatabase.GrainStorageName)] IPersistentState<FederatedSessionState> state,
    TimeProvider time,
    IHostApplicationLifetime lifetime) : SessionGrainBase<FederatedSessionState>(state, time, lifetime), IFederatedSessionGrain
{
    protected override DateTimeOffset? Deadline => Session.Federated.Deadline;

    protected override bool Handles(SessionKind kind) => CreateRules.IsFederated(kind);

    protected override bool SameSession(CreateSession command) => Session.Federated.Spec == command.Federated;

    protected override void Initialize(CreateSession command, DateTimeOffset now)
    {
        Session.Federated = new FederatedState { Spec = command.Federated, Deadline = now + command.Federated!.Lifetime };
        Session.Phase = SessionPhase.Running;
    }

    protected override void Import(LegacySessionState legacy) => Session.Federated = legacy.Federated ?? new FederatedState();

    protected override void OnCancelled() => Session.Federated.Deadline = null;

    /// <summary>Releases are deleted and the rounds cancelled with the session (a repeated cancel only finishes the rounds).</summary>
    protected override async Task AfterCancelAsync(Caller caller, string? reason, bool repeated)
    {
        if (!repeated) await DeleteReleasesAsync();
        await CancelRoundsAsync(caller, reason);
    }

    /// <summary>Cancels a federated session's rounds that have not ended (each refuses its later messages on its own).</summary>
    private async Task CancelRoundsAsync(Caller caller, string? reason)
    {
        var because = $"its federated session {Key.Id} was cancelled" + (reason is null ? "" : $": {reason}");
        foreach (var round in Federated.Rounds)
        {
            var grain = GrainFactory.GetSession(new EntityKey(Key.Tenant, round.SessionId));
            if (await grain.HasEndedAsync()) continue;
            try
            {
                await grain.CancelAsync(caller, because.Length > MaxCancelReasonLength ? because[..MaxCancelReasonLength] : because);
            }
            catch (SmpcException ex) when (ex.Code is SmpcErrorCode.WrongPhase or SmpcErrorCode.NotFound)
            {
                // ended meanwhile, or never stored (a round the parent lists whose create did not finish)
            }
        }
    }

    /// <summary>Most rounds (and releases) one federated session may run.</summary>
    public const int MaxFederatedRounds = 10_000;

    /// <summary>Largest release (e.g. a model's global parameters): 64 MiB of ciphertext.</summary>
    public const long MaxReleaseBytes = 64L * 1024 * 1024;

    private FederatedState Federated => Session.Federated;

    protected override SessionInfo Describe(SessionInfo common)
    {
        if (Session.Federated is not { Spec: not null } f) return common;
        return common with { Federated = new FederatedStatus(f.Spec, new Dictionary<string, MemberKey>(f.MemberKeys), new Dictionary<string, byte[]>(f.SealedKeys), [.. f.Rounds], [.. f.Releases],
            [.. f.Metrics], f.Deadline, f.FailureReason) };
    }

    async Task<SessionInfo> IFederatedSessionGrain.AddRoundAsync(Caller caller, string round, string sessionId, IReadOnlyList<string> podIds)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        var f = Federated;
        if (string.IsNullOrWhiteSpace(round) || round.Length > 64) throw SmpcException.Invalid("A round of a federated session is named by aggregation.input (1 to 64 characters).");
        // One session per round label, ever: running a label twice over different pods (or the same pods with other
        // dropouts) would let the modeller subtract one pod's vector out of two sums.
        if (f.Rounds.FirstOrDefault(r => r.Round == round) is { } existing)
        {
            if (existing.SessionId == sessionId && (existing.PodIds ?? []).SequenceEqual(podIds)) return ToInfo();
            throw SmpcException.Conflict($"Round '{round}' of session '{Key.Id}' already ran as session '{existing.SessionId}'; a round runs once.");
        }

        RequireRunning();
        var strangers = podIds.Where(p => !Session.PodIds.Contains(p)).ToList();
        if (strangers.Count > 0) throw SmpcException.Invalid($"A round may include only pods of session '{Key.Id}'; not: {string.Join(", ", strangers)}.");
        if (f.SealedKeys.Count < Session.PodIds.Count) throw SmpcException.WrongPhase("Rounds start once the content key is sealed to every pod.");
        if (f.Rounds.Count >= MaxFederatedRounds) throw SmpcException.Invalid($"A federated session runs at most {MaxFederatedRounds} rounds.");
        using var activity = SessionSpan("federated.round");
        activity?.SetTag("smpc.round", round);
        f.Rounds.Add(new FederatedRound(round, sessionId, Time.GetUtcNow(), [.. podIds]));
        await SaveAsync("federated.round");
        CountStep("round");
        return ToInfo();
    }

    async Task<SessionInfo> IFederatedSessionGrain.SubmitMemberKeyAsync(Caller caller, byte[] publicKey, byte[] signature)
    {
        _ = PartyOf(caller);
        await AdvanceIfDueAsync();
        var f = Federated;
        var pod = caller.Subject!;
        if (f.MemberKeys.TryGetValue(pod, out var existing))
        {
            if (existing.PublicKey.AsSpan().SequenceEqual(publicKey) && existing.Signature.AsSpan().SequenceEqual(signature)) return ToInfo();
            throw SmpcException.Conflict($"Pod {pod} already published another member key.");
        }

        RequireRunning();
        if (publicKey.Length != X25519KeyPair.KeySize || signature.Length != Ed25519KeyPair.SignatureSize)
            throw SmpcException.Invalid("A member key is a 32-byte X25519 public key with a 64-byte Ed25519 signature.");
        var registered = await GrainFactory.GetPod(new EntityKey(Key.Tenant, pod)).GetAsync(caller);
        if (!Ed25519KeyPair.Verify(registered.IdentityPublicKey, FederatedChannel.MemberKeyMessage(Key.Tenant, Key.Id, pod, publicKey), signature))
            throw SmpcException.Invalid("The member key is not signed by the pod's registered identity key for this session.");
        using var activity = SessionSpan("federated.member_key");
        f.MemberKeys[pod] = new MemberKey(publicKey, signature);
        await SaveAsync("federated.member-key");
        CountStep("member-key");
        await AuditJoinedAsync(caller, "published its member key");
        return ToInfo();
    }

    async Task<SessionInfo> IFederatedSessionGrain.SubmitSealedKeysAsync(Caller caller, IReadOnlyDictionary<string, byte[]> boxes)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        var f = Federated;
        if (f.SealedKeys.Count > 0)
        {
            if (f.SealedKeys.Count == boxes.Count && boxes.All(b => f.SealedKeys.TryGetValue(b.Key, out var mine) && mine.AsSpan().SequenceEqual(b.Value))) return ToInfo();
            throw SmpcException.Conflict("The content key is already sealed to the pods.");
        }

        RequireRunning();
        var missing = Session.PodIds.Where(p => !f.MemberKeys.ContainsKey(p)).ToList();
        if (missing.Count > 0) throw SmpcException.WrongPhase($"Waiting for member keys from: {string.Join(", ", missing)}.");
        if (boxes.Count != Session.PodIds.Count || Session.PodIds.Any(p => !boxes.ContainsKey(p)))
            throw SmpcException.Invalid("Seal the content key to every pod of the session, and only to them.");
        if (boxes.Values.Any(b => b.Length != SealedBox.Overhead + FederatedChannel.ContentKeySize))
            throw SmpcException.Invalid($"A sealed content key is {SealedBox.Overhead + FederatedChannel.ContentKeySize} bytes.");
        using var activity = SessionSpan("federated.sealed_keys");
        foreach (var (pod, box) in boxes) f.SealedKeys[pod] = box;
        await SaveAsync("federated.sealed-keys");
        CountStep("sealed-keys");
        return ToInfo();
    }

    async Task<PsiUpload> IFederatedSessionGrain.BeginReleaseAsync(Caller caller, string name)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        var f = Federated;
        if (!EntityKey.IsValidId(name) || name.Length > 64) throw SmpcException.Invalid("A release is named by an id of at most 64 characters.");
        RequireRunning(); // also for a name already stored: after the end its payload is deleted and must not come back
        if (!f.Releases.Contains(name))
        {
            if (f.SealedKeys.Count == 0) throw SmpcException.WrongPhase("Releases follow the sealed content key.");
            if (f.Releases.Count >= MaxFederatedRounds) throw SmpcException.Invalid($"A federated session holds at most {MaxFederatedRounds} releases.");
        }

        var rules = new PayloadConstraints(0, 1 << 20, null, MaxLength: MaxReleaseBytes);
        var key = ReleaseKey(name);
        var uploadId = await GrainFactory.GetPayload(key).BeginAsync(rules);
        return new PsiUpload(key.ToString(), uploadId, rules.ChunkBytes, MaxReleaseBytes, 1);
    }

    async Task<SessionInfo> IFederatedSessionGrain.CommitReleaseAsync(Caller caller, string name)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        var f = Federated;
        if (f.Releases.Contains(name)) return ToInfo(); // a retry: the payload grain already refused different bytes
        RequireRunning();
        var manifest = await GrainFactory.GetPayload(ReleaseKey(name)).GetManifestAsync();
        if (manifest.Length < FederatedChannel.ReleaseOverhead)
        {
            await GrainFactory.GetPayload(ReleaseKey(name)).DeleteAsync(); // not a release: free the name for a correct upload
            throw SmpcException.Invalid("A release is at least its nonce and tag long.");
        }

        using var activity = SessionSpan("federated.release");
        activity?.SetTag("smpc.release", name);
        activity?.SetTag(SmpcTelemetry.BytesAttribute, manifest.Length);
        f.Releases.Add(name);
        await SaveAsync("federated.release");
        CountStep("release");
        return ToInfo();
    }

    async Task<string> IFederatedSessionGrain.GetReleaseAsync(Caller caller, string name)
    {
        var what = $"Session '{Key.Id}'";
        caller.RequireTenant(Key.Tenant, what);
        if (!Exists || !MaySee(caller) || caller.Role is not (CallerRole.Pod or CallerRole.Modeller)) throw SmpcException.NotFound(what);
        RefuseIfCancelled();
        await AdvanceIfDueAsync();
        if (!Federated.Releases.Contains(name)) throw SmpcException.NotFound($"Release '{name}'");
        if (Session.Phase != SessionPhase.Running) throw SmpcException.WrongPhase($"The session is {Session.Phase}; its releases are deleted.");
        return ReleaseKey(name).ToString();
    }

    async Task<SessionInfo> IFederatedSessionGrain.DeclineFederatedAsync(Caller caller, string reason)
    {
        _ = PartyOf(caller);
        await AdvanceIfDueAsync();
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > 500) throw SmpcException.Invalid("A reason of 1 to 500 characters is needed.");
        var failure = $"Pod {caller.Subject} declined: {reason.Trim()}";
        if (Session.Phase == SessionPhase.Failed && Federated.FailureReason == failure) return ToInfo();
        RequireRunning();
        using var activity = SessionSpan("federated.decline");
        await EndFederatedAsync(failure);
        await AuditDeclinedAsync(caller, reason.Trim(), failure);
        return ToInfo();
    }

    async Task<SessionInfo> IFederatedSessionGrain.ReportRoundMetricsAsync(Caller caller, string round, IReadOnlyDictionary<string, double> values)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        var f = Federated;
        if (f.Metrics.FirstOrDefault(m => m.Round == round) is { } existing)
        {
            if (existing.Values.Count == values.Count && values.All(v => existing.Values.TryGetValue(v.Key, out var x) && x.Equals(v.Value))) return ToInfo();
            throw SmpcException.Conflict($"Round '{round}' already has other metrics.");
        }

        RequireRunning();
        if (!f.Rounds.Any(r => r.Round == round)) throw SmpcException.Invalid($"Session '{Key.Id}' has no round '{round}'.");
        if (values.Count is 0 or > 32) throw SmpcException.Invalid("Publish 1 to 32 metrics per round.");
        if (values.Any(v => string.IsNullOrWhiteSpace(v.Key) || v.Key.Length > 64 || !double.IsFinite(v.Value)))
            throw SmpcException.Invalid("Metric names are 1 to 64 characters and values finite numbers.");
        using var activity = SessionSpan("federated.metrics");
        activity?.SetTag("smpc.round", round);
        f.Metrics.Add(new RoundMetrics(round, new Dictionary<string, double>(values), Time.GetUtcNow()));
        await SaveAsync("federated.metrics");
        CountStep("metrics");
        return ToInfo();
    }

    async Task<SessionInfo> IFederatedSessionGrain.FinishFederatedAsync(Caller caller, string? failureReason)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        if (failureReason is { Length: > 500 }) throw SmpcException.Invalid("A reason is at most 500 characters.");
        var reason = string.IsNullOrWhiteSpace(failureReason) ? null : $"The modeller ended the session: {failureReason.Trim()}";
        var target = reason is null ? SessionPhase.Completed : SessionPhase.Failed;
        if (Session.Phase == target && Federated.FailureReason == reason) return ToInfo();
        RequireRunning();
        using var activity = SessionSpan("federated.finish");
        await EndFederatedAsync(reason);
        await AuditEndedAsync(caller, reason);
        return ToInfo();
    }

    protected override async Task AdvanceIfDueAsync()
    {
        if (Session.Phase != SessionPhase.Running || Federated.Deadline is not { } deadline || Time.GetUtcNow() < deadline) return;
        await EndFederatedAsync($"The session's lifetime ({Federated.Spec!.Lifetime}) ended before the modeller finished it.");
        await AuditEndedAsync(null, Federated.FailureReason);
    }

    /// <summary>Ends the session (completed when <paramref name="failureReason"/> is null) and deletes its releases.</summary>
    private async Task EndFederatedAsync(string? failureReason)
    {
        var f = Federated;
        Session.Phase = failureReason is null ? SessionPhase.Completed : SessionPhase.Failed;
        f.FailureReason = failureReason;
        f.Deadline = null;
        SmpcTelemetry.SessionsEnded.Add(1, new KeyValuePair<string, object?>("smpc.session.outcome", failureReason is null ? "completed" : "failed"));
        await SaveAsync("federated.end");
        CountStep("end");
        await DeleteReleasesAsync();
    }

    /// <summary>Once a session ends its releases are of no use to anyone: delete them (best effort).</summary>
    private async Task DeleteReleasesAsync()
    {
        foreach (var name in Federated.Releases)
        {
            try
            {
                await GrainFactory.GetPayload(ReleaseKey(name)).DeleteAsync();
            }
            catch (Exception)
            {
                SmpcTelemetry.StorageFailures.Add(1);
            }
        }
    }

    /// <summary>Counts a durable step (after its save) for the <c>smpc.federated.steps</c> metric.</summary>
    private void CountStep(string step) => SmpcTelemetry.FederatedSteps.Add(1,
        new KeyValuePair<string, object?>("smpc.step", step), new KeyValuePair<string, object?>("smpc.session.kind", Session.Kind.ToString()));

    private void RequireRunning()
    {
        if (Session.Phase != SessionPhase.Running)
            throw SmpcException.WrongPhase($"The session is {Session.Phase}{(Federated.FailureReason is { } r ? $" ({r})" : "")}.");
    }

    private PayloadKey ReleaseKey(string name) => new(Key, "release-" + name);
}
