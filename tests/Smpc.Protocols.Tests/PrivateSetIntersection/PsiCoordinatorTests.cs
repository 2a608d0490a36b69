using Smpc.Protocols.Coordination;
using Smpc.Protocols.PrivateSetIntersection;
using Xunit;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

/// <summary>The service's rules for a PSI session, on a fake clock: acceptance, the exchange's order, counts, declines, the deadline, repeats.</summary>
public sealed class PsiCoordinatorTests
{
    private const string V = EcdhPsiVersion.Current;
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);
    private static readonly PsiCoordinator Ecdh = new(new PsiSessionRules("ecdh", false, false, 5, 0, Timeout, V));
    private static readonly PsiCoordinator EcdhCardinality = new(new PsiSessionRules("ecdh", false, true, 5, 0, Timeout, V));
    private static readonly PsiCoordinator Rsa = new(new PsiSessionRules("rsa-blind", true, false, 5, 2048, Timeout));
    private readonly DateTimeOffset start = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void Start_AwaitsThePodUntilTheTimeout()
    {
        var state = Ecdh.Start(start);

        Assert.Equal((PsiPhase.AwaitingPod, start + Timeout), (state.Phase, state.Deadline));
        Assert.Equal(RefusalKind.WrongPhase, Ecdh.CheckUploadOpen(state, PsiSet.PodSet)!.Kind);
    }

    [Fact]
    public void Accept_OpensTheExchange_OnceOnly()
    {
        var step = Ecdh.Accept(Ecdh.Start(start), null, countedByPod: false, version: V);

        Assert.Equal(PsiPhase.Exchange, step.State.Phase);
        Assert.Equal([new PsiEvent.Accepted("accepted the session (ecdh)")], step.Events);
        Assert.False(Ecdh.Accept(step.State, null, false, version: V).Changed);
        AssertRefused(Ecdh.Accept(step.State, [1], false, version: V), RefusalKind.Conflict, "The pod already accepted this session differently.");
    }

    [Fact]
    public void Accept_ChecksTheKeyAndWhoCounts()
    {
        AssertRefused(Ecdh.Accept(Ecdh.Start(start), [1, 2], false, version: V), RefusalKind.Invalid, "An ecdh session has no public key to publish.");
        AssertRefused(Ecdh.Accept(Ecdh.Start(start), null, true, version: V), RefusalKind.Invalid, "Only ecdh cardinality sessions can be counted by the pod.");
        AssertRefused(Rsa.Accept(Rsa.Start(start), null, false, version: V), RefusalKind.Invalid, "An rsa-blind session needs the pod's RSA public key.");
        Assert.StartsWith("Malformed RSA public key:", Rsa.Accept(Rsa.Start(start), [1, 2, 3], false, version: V).Refusal!.Message);
        Assert.Equal([new PsiEvent.Accepted("accepted the session (ecdh, counted by the pod)")], EcdhCardinality.Accept(EcdhCardinality.Start(start), null, true, version: V).Events);
    }

    [Fact]
    public void Exchange_PodSetQueryReply_AnswersTheModeller()
    {
        var state = Accept(Ecdh.Accept(Ecdh.Start(start), null, false, version: V));
        AssertRefused(Ecdh.CommitUpload(state, PsiSet.Reply, 5), RefusalKind.WrongPhase, "The reply follows the modeller's query, which is not stored yet.");
        AssertRefused(Ecdh.CommitUpload(state, PsiSet.Query, null), RefusalKind.Invalid, "Only the pod's set may be empty; the query has a fixed size.");
        Assert.Equal(RefusalKind.WrongPhase, Ecdh.CheckDownload(state, PsiSet.PodSet, out _)!.Kind);

        state = Accept(Ecdh.CommitUpload(state, PsiSet.PodSet, 7));
        Assert.Null(Ecdh.CheckDownload(state, PsiSet.PodSet, out var empty));
        Assert.False(empty);
        state = Accept(Ecdh.CommitUpload(state, PsiSet.Query, 5));
        Assert.Equal(PsiPhase.Exchange, state.Phase);
        var answered = Ecdh.CommitUpload(state, PsiSet.Reply, 5);

        Assert.Equal(PsiPhase.Answered, answered.State.Phase);
        Assert.Equal([new PsiEvent.SetStored(PsiSet.Reply, 5)], answered.Events);
        Assert.False(Ecdh.CommitUpload(answered.State, PsiSet.Reply, 5).Changed); // a retry
        Assert.Null(Ecdh.CheckUpload(answered.State, PsiSet.Reply));
        Assert.Equal(RefusalKind.WrongPhase, Ecdh.CheckUploadOpen(answered.State, PsiSet.Reply)!.Kind);
    }

    [Fact]
    public void AnEmptyPodSet_NeedsNoDoubleBlindedSet_AndAnEmptyQueryNoReply()
    {
        var empty = new PsiCoordinator(new PsiSessionRules("ecdh", false, true, 0, 0, Timeout, V));
        var state = Accept(empty.Accept(empty.Start(start), null, true, version: V));
        Assert.True(state.QueryStored && state.ReplyStored);

        state = Accept(empty.CommitUpload(state, PsiSet.PodSet, null));

        Assert.Equal((0L, true), (state.ServerSetSize, state.DoubleBlindedStored));
        Assert.Null(empty.CheckDownload(state, PsiSet.DoubleBlinded, out var nothing));
        Assert.True(nothing);
    }

    [Fact]
    public void PodCounted_TheModellerDoubleBlinds_ThePodSealsItsCount_TheServiceStoresOnlyCiphertext()
    {
        var c = EcdhCardinality;
        var state = Accept(c.Accept(c.Start(start), null, true, version: V));
        AssertRefused(c.CommitUpload(state, PsiSet.Reply, 5), RefusalKind.WrongPhase, "In a pod-counted session the pod sends no reply; it reports the count.");
        AssertRefused(c.CommitUpload(state, PsiSet.DoubleBlinded, 7), RefusalKind.WrongPhase, "The double-blinded set follows the pod's encoded set, which is not stored yet.");
        state = Accept(c.CommitUpload(Accept(c.CommitUpload(state, PsiSet.PodSet, 7)), PsiSet.Query, 5));
        var sealedCount = new byte[SealedPsiCount.SealedBytes];
        sealedCount[0] = 9;
        AssertRefused(c.ReportSealedCount(state, sealedCount), RefusalKind.WrongPhase, "The pod counts once the query and the double-blinded set are stored.");
        state = Accept(c.CommitUpload(state, PsiSet.DoubleBlinded, 7));
        AssertRefused(c.ReportCount(state, 3), RefusalKind.UnsupportedVersion, "Since ecdh-oprf-v1 the pod seals its count to the modeller (sealedCount); the service takes no plain count.");
        AssertRefused(c.ReportSealedCount(state, new byte[5]), RefusalKind.Invalid, $"A sealed count is {SealedPsiCount.SealedBytes} bytes.");

        var counted = c.ReportSealedCount(state, sealedCount);
        Assert.Equal(PsiPhase.Answered, counted.State.Phase);
        Assert.Equal(sealedCount, counted.State.SealedCount);
        Assert.Null(counted.State.PodCount); // the service never holds the count itself
        Assert.Equal([new PsiEvent.PodCounted()], counted.Events);
        Assert.False(c.ReportSealedCount(counted.State, sealedCount).Changed);
        AssertRefused(c.ReportSealedCount(counted.State, new byte[SealedPsiCount.SealedBytes]), RefusalKind.Conflict, "The pod already reported another sealed count.");
        var done = c.Complete(counted.State, 3);
        Assert.Equal([new PsiEvent.Completed(ModellerCounted: false)], done.Events);
    }

    [Fact]
    public void Ecdh_APodOfAnotherVersion_IsRefusedByName_AndCardinalityIsNeverModellerCounted()
    {
        var old = Ecdh.Accept(Ecdh.Start(start), null, false, version: null);
        Assert.Equal(RefusalKind.UnsupportedVersion, old.Refusal!.Kind);
        Assert.Contains("from before ecdh-oprf-v1", old.Refusal.Message);
        Assert.Equal(RefusalKind.UnsupportedVersion, Ecdh.Accept(Ecdh.Start(start), null, false, version: "ecdh-oprf-v2").Refusal!.Kind);
        AssertRefused(EcdhCardinality.Accept(EcdhCardinality.Start(start), null, false, version: V), RefusalKind.Invalid,
            "ecdh cardinality is counted by the pod (ecdh-oprf-v1): a modeller-counted count cannot withstand per-record blinds.");
    }

    [Fact]
    public void Complete_RecordsTheModellersCount_Once()
    {
        var state = Answered(Ecdh);
        AssertRefused(Ecdh.Complete(Accept(Ecdh.Accept(Ecdh.Start(start), null, false, version: V)), 1), RefusalKind.WrongPhase, "The session is in phase Exchange, not Answered.");

        var done = Ecdh.Complete(state, 4);

        Assert.Equal((PsiPhase.Completed, (long?)4, (DateTimeOffset?)null), (done.State.Phase, done.State.ReportedCount, done.State.Deadline));
        Assert.Equal([new PsiEvent.Completed(ModellerCounted: true)], done.Events);
        Assert.False(Ecdh.Complete(done.State, 4).Changed);
        AssertRefused(Ecdh.Complete(done.State, null), RefusalKind.Conflict, "The session was already completed with another reported count.");
        Assert.Equal(RefusalKind.WrongPhase, Ecdh.CheckDownload(done.State, PsiSet.Reply, out _)!.Kind);
    }

    [Fact]
    public void Decline_FailsTheSessionWithThePodsReason_UntilItIsAnswered()
    {
        var declined = Ecdh.Decline(Ecdh.Start(start), "  not for this modeller ");

        Assert.Equal((PsiPhase.Failed, "The pod declined: not for this modeller"), (declined.State.Phase, declined.State.FailureReason));
        Assert.Equal([new PsiEvent.Failed("The pod declined: not for this modeller", "not for this modeller")], declined.Events);
        Assert.False(Ecdh.Decline(declined.State, "not for this modeller").Changed);
        AssertRefused(Ecdh.Decline(declined.State, "other"), RefusalKind.WrongPhase, "The session is already Failed.");
        AssertRefused(Ecdh.Decline(Answered(Ecdh), "late"), RefusalKind.WrongPhase, "The session is already Answered.");
        AssertRefused(Ecdh.Decline(Ecdh.Start(start), " "), RefusalKind.Invalid, "A reason of 1 to 500 characters is needed.");
        AssertRefused(Ecdh.Accept(declined.State, null, false, version: V), RefusalKind.WrongPhase, "The session is in phase Failed, not AwaitingPod. It failed: The pod declined: not for this modeller");
    }

    [Fact]
    public void Deadline_FailsTheSession_NamingWhatItWaitedFor()
    {
        var exchange = Accept(Ecdh.CommitUpload(Accept(Ecdh.Accept(Ecdh.Start(start), null, false, version: V)), PsiSet.PodSet, 3));
        Assert.False(Ecdh.AdvanceIfDue(exchange, start + Timeout - TimeSpan.FromTicks(1)).Changed);

        var failed = Ecdh.AdvanceIfDue(exchange, start + Timeout);
        var awaiting = Ecdh.AdvanceIfDue(Ecdh.Start(start), start + Timeout);

        Assert.Equal("The session's deadline passed while waiting for the modeller's query.", failed.State.FailureReason);
        Assert.Equal([new PsiEvent.Failed("The session's deadline passed while waiting for the modeller's query.", null)], failed.Events);
        Assert.Equal("The session's deadline passed while waiting for the pod to accept.", awaiting.State.FailureReason);
        Assert.False(Ecdh.AdvanceIfDue(Ecdh.Complete(Answered(Ecdh), null).State, start + Timeout * 2).Changed);
    }

    [Fact]
    public void Cancel_EndsAnOpenSession_OnceOnly()
    {
        var cancelled = Ecdh.Cancel(Answered(Ecdh));

        Assert.Equal((PsiPhase.Cancelled, (DateTimeOffset?)null), (cancelled.State.Phase, cancelled.State.Deadline));
        Assert.False(Ecdh.Cancel(cancelled.State).Changed);
        Assert.Equal(RefusalKind.WrongPhase, Ecdh.Complete(cancelled.State, 1).Refusal!.Kind);
        AssertRefused(Ecdh.Cancel(Ecdh.Complete(Answered(Ecdh), 1).State), RefusalKind.WrongPhase, "The session has already completed; there is nothing to cancel.");
    }

    [Fact]
    public void ElementSizes_FollowTheProtocol()
    {
        Assert.Equal((32, 32), (Ecdh.ElementBytes(PsiSet.Query), Ecdh.ElementBytes(PsiSet.PodSet)));
        Assert.Equal((256, 256, 32), (Rsa.ElementBytes(PsiSet.Query), Rsa.ElementBytes(PsiSet.Reply), Rsa.ElementBytes(PsiSet.PodSet)));
    }

    private PsiExchangeState Answered(PsiCoordinator c)
    {
        var state = Accept(c.Accept(c.Start(start), null, false, version: V));
        foreach (var (set, n) in new[] { (PsiSet.PodSet, 7L), (PsiSet.Query, 5L), (PsiSet.Reply, 5L) }) state = Accept(c.CommitUpload(state, set, n));
        Assert.Equal(PsiPhase.Answered, state.Phase);
        return state;
    }

    private static PsiExchangeState Accept(CoordinatorStep<PsiExchangeState, PsiEvent> step)
    {
        Assert.Null(step.Refusal);
        return step.State;
    }

    private static void AssertRefused(CoordinatorStep<PsiExchangeState, PsiEvent> step, RefusalKind kind, string message)
    {
        Assert.Equal(new Refusal(kind, message), step.Refusal);
        Assert.False(step.Changed);
    }
}
