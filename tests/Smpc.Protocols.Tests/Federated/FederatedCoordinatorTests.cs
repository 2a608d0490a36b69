using Smpc.Protocols.Coordination;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Federated;
using Xunit;

namespace Smpc.Protocols.Tests.Federated;

/// <summary>The service's rules for a federated session, on a fake clock: member keys, sealed keys, rounds, releases, metrics, its end.</summary>
public sealed class FederatedCoordinatorTests
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);
    private static readonly string[] Pods = ["f1", "f2", "f3"];
    private readonly DateTimeOffset start = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private readonly FederatedCoordinator coordinator = new(new FederatedSessionRules("t1", "q", Pods, Lifetime));
    private readonly Dictionary<string, Ed25519KeyPair> identities;
    private readonly Dictionary<string, byte[]> memberKeys;

    public FederatedCoordinatorTests()
    {
        var random = new DeterministicTestRandom(3);
        identities = Pods.ToDictionary(p => p, _ => Ed25519KeyPair.Generate(random));
        memberKeys = Pods.ToDictionary(p => p, _ => X25519KeyPair.Generate(random).PublicKey);
    }

    [Fact]
    public void MemberKeys_MustBeSignedByThePodsRegisteredIdentity_ForThisSession()
    {
        var state = coordinator.Start(start);
        Assert.Equal((FederatedPhase.Running, start + Lifetime), (state.Phase, state.Deadline));

        var joined = coordinator.SubmitMemberKey(state, "f1", memberKeys["f1"], Signature("f1"), identities["f1"].PublicKey);

        Assert.Equal([new FederatedEvent.StepTaken("member-key"), new FederatedEvent.MemberJoined("f1")], joined.Events);
        Assert.False(coordinator.SubmitMemberKey(joined.State, "f1", memberKeys["f1"], Signature("f1"), identities["f1"].PublicKey).Changed);
        AssertRefused(coordinator.SubmitMemberKey(joined.State, "f1", memberKeys["f2"], Signature("f1"), identities["f1"].PublicKey), RefusalKind.Conflict,
            "Pod f1 already published another member key.");
        AssertRefused(coordinator.SubmitMemberKey(state, "f2", memberKeys["f2"], Signature("f2"), identities["f1"].PublicKey), RefusalKind.Invalid,
            "The member key is not signed by the pod's registered identity key for this session.");
        AssertRefused(coordinator.SubmitMemberKey(state, "f2", [1], Signature("f2"), identities["f2"].PublicKey), RefusalKind.Invalid,
            "A member key is a 32-byte X25519 public key with a 64-byte Ed25519 signature.");
    }

    [Fact]
    public void SealedKeys_FollowEveryMemberKey_AndGoToEveryPodOnly()
    {
        var partial = Accept(coordinator.SubmitMemberKey(coordinator.Start(start), "f1", memberKeys["f1"], Signature("f1"), identities["f1"].PublicKey));
        AssertRefused(coordinator.SubmitSealedKeys(partial, Boxes()), RefusalKind.WrongPhase, "Waiting for member keys from: f2, f3.");
        var keyed = Keyed();
        AssertRefused(coordinator.SubmitSealedKeys(keyed, Boxes().Where(b => b.Key != "f3").ToDictionary()), RefusalKind.Invalid,
            "Seal the content key to every pod of the session, and only to them.");
        AssertRefused(coordinator.SubmitSealedKeys(keyed, Pods.ToDictionary(p => p, _ => new byte[3])), RefusalKind.Invalid,
            $"A sealed content key is {FederatedChannel.SignedContentKeySize} bytes (0x01, the sealed box, the modeller's signature).");

        var sealedKeys = Accept(coordinator.SubmitSealedKeys(keyed, Boxes()));

        Assert.Equal(Pods, sealedKeys.SealedKeys.Keys);
        Assert.False(coordinator.SubmitSealedKeys(sealedKeys, Boxes()).Changed);
        AssertRefused(coordinator.SubmitSealedKeys(sealedKeys, Boxes(9)), RefusalKind.Conflict, "The content key is already sealed to the pods.");
    }

    [Fact]
    public void Rounds_StartAfterTheSealedKeys_OverItsPods_EachLabelOnce()
    {
        AssertRefused(coordinator.AddRound(Keyed(), "counts", "q-counts", Pods, start), RefusalKind.WrongPhase, "Rounds start once the content key is sealed to every pod.");
        var state = Sealed();
        AssertRefused(coordinator.AddRound(state, "counts", "q-counts", ["f1", "x9"], start), RefusalKind.Invalid, "A round may include only pods of session 'q'; not: x9.");
        AssertRefused(coordinator.AddRound(state, "", "q-counts", Pods, start), RefusalKind.Invalid, "A round of a federated session is named by aggregation.input (1 to 64 characters).");

        var step = coordinator.AddRound(state, "counts", "q-counts", Pods, start);

        Assert.Equal([new FederatedEvent.StepTaken("round")], step.Events);
        var round = Assert.Single(step.State.Rounds);
        Assert.Equal(("counts", "q-counts", start), (round.Round, round.SessionId, round.CreatedAt));
        Assert.False(coordinator.AddRound(step.State, "counts", "q-counts", Pods, start).Changed);
        AssertRefused(coordinator.AddRound(step.State, "counts", "q-counts-2", ["f1", "f2"], start), RefusalKind.Conflict,
            "Round 'counts' of session 'q' already ran as session 'q-counts'; a round runs once.");
    }

    [Fact]
    public void Releases_FollowTheSealedKeys_AndAreAtLeastANonceAndATag()
    {
        Assert.Equal("Releases follow the sealed content key.", coordinator.CheckReleaseUpload(Keyed(), "r1")!.Message);
        var state = Sealed();
        Assert.Null(coordinator.CheckReleaseUpload(state, "r1"));
        AssertRefused(coordinator.CommitRelease(state, "r1", FederatedChannel.ReleaseOverhead - 1), RefusalKind.Invalid, "A release is at least its nonce and tag long.");

        var released = Accept(coordinator.CommitRelease(state, "r1", FederatedChannel.ReleaseOverhead));

        Assert.Equal(["r1"], released.Releases);
        Assert.False(coordinator.CommitRelease(released, "r1", 1).Changed);
        Assert.Null(FederatedCoordinator.CheckReleaseRead(released));
        var ended = Accept(coordinator.Finish(released, null));
        Assert.Equal("The session is Completed; its releases are deleted.", FederatedCoordinator.CheckReleaseRead(ended)!.Message);
        Assert.Equal(RefusalKind.WrongPhase, coordinator.CheckReleaseUpload(ended, "r1")!.Kind);
    }

    [Fact]
    public void Metrics_BelongToAKnownRound_OncePerRound()
    {
        var state = Accept(coordinator.AddRound(Sealed(), "counts", "q-counts", Pods, start));
        AssertRefused(coordinator.ReportMetrics(state, "other", new Dictionary<string, double> { ["loss"] = 1 }, start), RefusalKind.Invalid, "Session 'q' has no round 'other'.");
        AssertRefused(coordinator.ReportMetrics(state, "counts", new Dictionary<string, double> { ["loss"] = double.NaN }, start), RefusalKind.Invalid,
            "Metric names are 1 to 64 characters and values finite numbers.");

        var step = coordinator.ReportMetrics(state, "counts", new Dictionary<string, double> { ["loss"] = 0.25 }, start);

        Assert.Equal(0.25, Assert.Single(step.State.Metrics).Values["loss"]);
        Assert.False(coordinator.ReportMetrics(step.State, "counts", new Dictionary<string, double> { ["loss"] = 0.25 }, start).Changed);
        AssertRefused(coordinator.ReportMetrics(step.State, "counts", new Dictionary<string, double> { ["loss"] = 0.5 }, start), RefusalKind.Conflict,
            "Round 'counts' already has other metrics.");
    }

    [Fact]
    public void APodsDecline_FailsTheSessionWithItsReason()
    {
        var step = coordinator.Decline(Keyed(), "f2", " not this data ");

        Assert.Equal((FederatedPhase.Failed, "Pod f2 declined: not this data"), (step.State.Phase, step.State.FailureReason));
        Assert.Equal([new FederatedEvent.StepTaken("end"), new FederatedEvent.Ended("Pod f2 declined: not this data", "not this data")], step.Events);
        Assert.False(coordinator.Decline(step.State, "f2", "not this data").Changed);
        AssertRefused(coordinator.Decline(step.State, "f3", "me too"), RefusalKind.WrongPhase, "The session is Failed (Pod f2 declined: not this data).");
    }

    [Fact]
    public void Finish_CompletesOrFails_Once()
    {
        var completed = coordinator.Finish(Sealed(), " ");
        var failed = coordinator.Finish(Sealed(), "diverged");

        Assert.Equal([new FederatedEvent.StepTaken("end"), new FederatedEvent.Ended(null, null)], completed.Events);
        Assert.Equal((FederatedPhase.Failed, "The modeller ended the session: diverged"), (failed.State.Phase, failed.State.FailureReason));
        Assert.False(coordinator.Finish(completed.State, null).Changed);
        AssertRefused(coordinator.Finish(completed.State, "late"), RefusalKind.WrongPhase, "The session is Completed.");
    }

    [Fact]
    public void Lifetime_EndsARunningSession()
    {
        var state = Sealed();
        Assert.False(coordinator.AdvanceIfDue(state, start + Lifetime - TimeSpan.FromTicks(1)).Changed);

        var step = coordinator.AdvanceIfDue(state, start + Lifetime);

        Assert.Equal((FederatedPhase.Failed, "The session's lifetime (01:00:00) ended before the modeller finished it."), (step.State.Phase, step.State.FailureReason));
        Assert.Null(step.State.Deadline);
    }

    [Fact]
    public void Cancel_EndsARunningSession_OnceOnly()
    {
        var cancelled = coordinator.Cancel(Sealed());

        Assert.Equal((FederatedPhase.Cancelled, (DateTimeOffset?)null), (cancelled.State.Phase, cancelled.State.Deadline));
        Assert.False(coordinator.Cancel(cancelled.State).Changed);
        Assert.False(coordinator.AdvanceIfDue(cancelled.State, start + Lifetime * 2).Changed);
        Assert.Equal(RefusalKind.WrongPhase, FederatedCoordinator.CheckRunning(cancelled.State)!.Kind);
        AssertRefused(coordinator.Cancel(coordinator.Finish(Sealed(), null).State), RefusalKind.WrongPhase, "The session has already completed; there is nothing to cancel.");
    }

    private byte[] Signature(string pod) => FederatedChannel.SignMemberKey(identities[pod], "t1", "q", pod, memberKeys[pod]);

    private static Dictionary<string, byte[]> Boxes(byte fill = 7) =>
        Pods.ToDictionary(p => p, _ => Enumerable.Repeat(fill, FederatedChannel.SignedContentKeySize).ToArray());

    private FederatedRunState Keyed()
    {
        var state = coordinator.Start(start);
        foreach (var pod in Pods) state = Accept(coordinator.SubmitMemberKey(state, pod, memberKeys[pod], Signature(pod), identities[pod].PublicKey));
        return state;
    }

    private FederatedRunState Sealed() => Accept(coordinator.SubmitSealedKeys(Keyed(), Boxes()));

    private static FederatedRunState Accept(CoordinatorStep<FederatedRunState, FederatedEvent> step)
    {
        Assert.Null(step.Refusal);
        return step.State;
    }

    private static void AssertRefused(CoordinatorStep<FederatedRunState, FederatedEvent> step, RefusalKind kind, string message)
    {
        Assert.Equal(new Refusal(kind, message), step.Refusal);
        Assert.False(step.Changed);
    }
}
