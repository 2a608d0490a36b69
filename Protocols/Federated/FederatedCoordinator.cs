using Smpc.Protocols.Coordination;
using Smpc.Protocols.Crypto;
using Step = Smpc.Protocols.Coordination.CoordinatorStep<Smpc.Protocols.Federated.FederatedRunState, Smpc.Protocols.Federated.FederatedEvent>;

namespace Smpc.Protocols.Federated;

/// <summary>
/// The service's side of a federated query or training session (DESIGN.md §3.2, §3.3) as a pure state machine: the
/// channel between the modeller and its pods, and the list of rounds (each an ordinary secure-aggregation session).
/// </summary>
/// <remarks>
/// 1. Each pod publishes a member key (X25519) signed by its registered identity key over (tenant, session, pod, key).
/// 2. Once every pod has one, the modeller seals its content key to each (and only those) pods.
/// 3. Then rounds join (each label once, over pods of this session) and the modeller uploads releases (ciphertext at least
///    a nonce and a tag long) and publishes each round's metrics.
/// 4. The modeller finishes (completed, or failed with its reason); a pod's decline fails the session with the pod's
///    reason; the lifetime's end fails it. Releases are deleted when it ends.
/// Every message is idempotent for the same content; other content is a conflict.
/// </remarks>
public sealed class FederatedCoordinator
{
    /// <summary>Most rounds (and releases) one session may run.</summary>
    public const int MaxRounds = 10_000;

    private readonly FederatedSessionRules rules;

    /// <summary>A coordinator for the session under <paramref name="rules"/>.</summary>
    public FederatedCoordinator(FederatedSessionRules rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        this.rules = rules;
    }

    /// <summary>A new session, running until <paramref name="now"/> plus its lifetime.</summary>
    public FederatedRunState Start(DateTimeOffset now) => new() { Phase = FederatedPhase.Running, Deadline = now + rules.Lifetime };

    /// <summary>Fails a running session whose lifetime has ended.</summary>
    public Step AdvanceIfDue(FederatedRunState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Phase != FederatedPhase.Running || state.Deadline is not { } deadline || now < deadline) return Step.Unchanged(state);
        return End(state, $"The session's lifetime ({rules.Lifetime}) ended before the modeller finished it.", null);
    }

    /// <summary>A round (a secure-aggregation session over some of the pods) joins; a label runs once.</summary>
    public Step AddRound(FederatedRunState state, string round, string sessionId, IReadOnlyList<string> podIds, DateTimeOffset now) => Run(state, () =>
    {
        ArgumentNullException.ThrowIfNull(podIds);
        if (string.IsNullOrWhiteSpace(round) || round.Length > 64) throw RefusedException.Invalid("A round of a federated session is named by aggregation.input (1 to 64 characters).");
        // One session per round label, ever: running a label twice over different pods (or the same pods with other
        // dropouts) would let the modeller subtract one pod's vector out of two sums.
        if (state.Rounds.FirstOrDefault(r => r.Round == round) is { } existing)
        {
            if (existing.SessionId == sessionId && existing.PodIds.SequenceEqual(podIds)) return Step.Unchanged(state);
            throw RefusedException.Conflict($"Round '{round}' of session '{rules.SessionId}' already ran as session '{existing.SessionId}'; a round runs once.");
        }

        RequireRunning(state);
        var strangers = podIds.Where(p => !rules.PodIds.Contains(p)).ToList();
        if (strangers.Count > 0) throw RefusedException.Invalid($"A round may include only pods of session '{rules.SessionId}'; not: {string.Join(", ", strangers)}.");
        if (state.SealedKeys.Count < rules.PodIds.Count) throw RefusedException.WrongPhase("Rounds start once the content key is sealed to every pod.");
        if (state.Rounds.Count >= MaxRounds) throw RefusedException.Invalid($"A federated session runs at most {MaxRounds} rounds.");
        return Step.Accepted(state with { Rounds = state.Rounds.Add(new FederatedRoundRecord(round, sessionId, now, [.. podIds])) }, [new FederatedEvent.StepTaken("round")]);
    });

    /// <summary>Step 1: a pod publishes its member key, signed by <paramref name="registeredIdentityKey"/> (its registered identity).</summary>
    public Step SubmitMemberKey(FederatedRunState state, string pod, byte[] publicKey, byte[] signature, byte[] registeredIdentityKey) => Run(state, () =>
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        ArgumentNullException.ThrowIfNull(signature);
        ArgumentNullException.ThrowIfNull(registeredIdentityKey);
        if (state.MemberKeys.TryGetValue(pod, out var existing))
        {
            if (existing.PublicKey.AsSpan().SequenceEqual(publicKey) && existing.Signature.AsSpan().SequenceEqual(signature)) return Step.Unchanged(state);
            throw RefusedException.Conflict($"Pod {pod} already published another member key.");
        }

        RequireRunning(state);
        if (publicKey.Length != X25519KeyPair.KeySize || signature.Length != Ed25519KeyPair.SignatureSize)
            throw RefusedException.Invalid("A member key is a 32-byte X25519 public key with a 64-byte Ed25519 signature.");
        if (!Ed25519KeyPair.Verify(registeredIdentityKey, FederatedChannel.MemberKeyMessage(rules.Tenant, rules.SessionId, pod, publicKey), signature))
            throw RefusedException.Invalid("The member key is not signed by the pod's registered identity key for this session.");
        return Step.Accepted(state with { MemberKeys = state.MemberKeys.Add(pod, new FederatedMemberKey(publicKey, signature)) },
            [new FederatedEvent.StepTaken("member-key"), new FederatedEvent.MemberJoined(pod)]);
    });

    /// <summary>Step 2: the modeller's content key sealed to every pod's member key.</summary>
    public Step SubmitSealedKeys(FederatedRunState state, IReadOnlyDictionary<string, byte[]> boxes) => Run(state, () =>
    {
        ArgumentNullException.ThrowIfNull(boxes);
        if (state.SealedKeys.Count > 0)
        {
            if (state.SealedKeys.Count == boxes.Count && boxes.All(b => state.SealedKeys.TryGetValue(b.Key, out var mine) && mine.AsSpan().SequenceEqual(b.Value))) return Step.Unchanged(state);
            throw RefusedException.Conflict("The content key is already sealed to the pods.");
        }

        RequireRunning(state);
        var missing = rules.PodIds.Where(p => !state.MemberKeys.ContainsKey(p)).ToList();
        if (missing.Count > 0) throw RefusedException.WrongPhase($"Waiting for member keys from: {string.Join(", ", missing)}.");
        if (boxes.Count != rules.PodIds.Count || rules.PodIds.Any(p => !boxes.ContainsKey(p)))
            throw RefusedException.Invalid("Seal the content key to every pod of the session, and only to them.");
        if (boxes.Values.Any(b => b.Length != FederatedChannel.SignedContentKeySize))
            throw RefusedException.Invalid($"A sealed content key is {FederatedChannel.SignedContentKeySize} bytes (0x01, the sealed box, the modeller's signature).");
        return Step.Accepted(state with { SealedKeys = state.SealedKeys.SetItems(boxes) }, [new FederatedEvent.StepTaken("sealed-keys")]);
    });

    /// <summary>Whether the modeller may open an upload of release <paramref name="name"/> now.</summary>
    public Refusal? CheckReleaseUpload(FederatedRunState state, string name) => Check(() =>
    {
        RequireRunning(state); // also for a name already stored: after the end its payload is deleted and must not come back
        if (state.Releases.Contains(name)) return;
        if (state.SealedKeys.Count == 0) throw RefusedException.WrongPhase("Releases follow the sealed content key.");
        if (state.Releases.Count >= MaxRounds) throw RefusedException.Invalid($"A federated session holds at most {MaxRounds} releases.");
    });

    /// <summary>Step 3: release <paramref name="name"/> of <paramref name="length"/> bytes is stored.</summary>
    public Step CommitRelease(FederatedRunState state, string name, long length) => Run(state, () =>
    {
        if (state.Releases.Contains(name)) return Step.Unchanged(state); // the payload store already refused different bytes
        RequireRunning(state);
        if (length < FederatedChannel.ReleaseOverhead) throw RefusedException.Invalid("A release is at least its nonce and tag long.");
        return Step.Accepted(state with { Releases = state.Releases.Add(name) }, [new FederatedEvent.StepTaken("release")]);
    });

    /// <summary>Whether the session still runs (every protocol message needs it).</summary>
    public static Refusal? CheckRunning(FederatedRunState state) => Check(() => RequireRunning(state));

    /// <summary>Whether a stored release can be read (not once the session has ended: its payload is deleted).</summary>
    public static Refusal? CheckReleaseRead(FederatedRunState state) => Check(() =>
    {
        if (state.Phase != FederatedPhase.Running) throw RefusedException.WrongPhase($"The session is {state.Phase}; its releases are deleted.");
    });

    /// <summary>A pod declines under its policy; the session fails with its reason.</summary>
    public Step Decline(FederatedRunState state, string pod, string reason) => Run(state, () =>
    {
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > 500) throw RefusedException.Invalid("A reason of 1 to 500 characters is needed.");
        var failure = $"Pod {pod} declined: {reason.Trim()}";
        if (state.Phase == FederatedPhase.Failed && state.FailureReason == failure) return Step.Unchanged(state);
        RequireRunning(state);
        return End(state, failure, reason.Trim());
    });

    /// <summary>The modeller publishes one round's metrics (stored as given).</summary>
    public Step ReportMetrics(FederatedRunState state, string round, IReadOnlyDictionary<string, double> values, DateTimeOffset now) => Run(state, () =>
    {
        ArgumentNullException.ThrowIfNull(values);
        if (state.Metrics.FirstOrDefault(m => m.Round == round) is { } existing)
        {
            if (existing.Values.Count == values.Count && values.All(v => existing.Values.TryGetValue(v.Key, out var x) && x.Equals(v.Value))) return Step.Unchanged(state);
            throw RefusedException.Conflict($"Round '{round}' already has other metrics.");
        }

        RequireRunning(state);
        if (!state.Rounds.Any(r => r.Round == round)) throw RefusedException.Invalid($"Session '{rules.SessionId}' has no round '{round}'.");
        if (values.Count is 0 or > 32) throw RefusedException.Invalid("Publish 1 to 32 metrics per round.");
        if (values.Any(v => string.IsNullOrWhiteSpace(v.Key) || v.Key.Length > 64 || !double.IsFinite(v.Value)))
            throw RefusedException.Invalid("Metric names are 1 to 64 characters and values finite numbers.");
        return Step.Accepted(state with { Metrics = state.Metrics.Add(new FederatedMetricsRecord(round, new Dictionary<string, double>(values), now)) },
            [new FederatedEvent.StepTaken("metrics")]);
    });

    /// <summary>Step 4: the modeller ends the session, completed or (with a reason) failed.</summary>
    public Step Finish(FederatedRunState state, string? failureReason) => Run(state, () =>
    {
        if (failureReason is { Length: > 500 }) throw RefusedException.Invalid("A reason is at most 500 characters.");
        var reason = string.IsNullOrWhiteSpace(failureReason) ? null : $"The modeller ended the session: {failureReason.Trim()}";
        var target = reason is null ? FederatedPhase.Completed : FederatedPhase.Failed;
        if (state.Phase == target && state.FailureReason == reason) return Step.Unchanged(state);
        RequireRunning(state);
        return End(state, reason, null);
    });

    /// <summary>The session is cancelled; refused once it has completed or failed.</summary>
    public Step Cancel(FederatedRunState state) => Run(state, () =>
    {
        if (state.Phase == FederatedPhase.Cancelled) return Step.Unchanged(state);
        if (state.Phase is FederatedPhase.Completed or FederatedPhase.Failed)
            throw RefusedException.WrongPhase($"The session has already {(state.Phase == FederatedPhase.Completed ? "completed" : "failed")}; there is nothing to cancel.");
        return Step.Accepted(state with { Phase = FederatedPhase.Cancelled, Deadline = null }, []);
    });

    private static void RequireRunning(FederatedRunState state)
    {
        if (state.Phase != FederatedPhase.Running)
            throw RefusedException.WrongPhase($"The session is {state.Phase}{(state.FailureReason is { } r ? $" ({r})" : "")}.");
    }

    private static Step End(FederatedRunState state, string? failureReason, string? declined) => Step.Accepted(
        state with { Phase = failureReason is null ? FederatedPhase.Completed : FederatedPhase.Failed, FailureReason = failureReason, Deadline = null },
        [new FederatedEvent.StepTaken("end"), new FederatedEvent.Ended(failureReason, declined)]);

    private static Step Run(FederatedRunState state, Func<Step> step) => RefusedException.Guard(state, step);

    private static Refusal? Check(Action check) => RefusedException.Check(check);
}
