using Smpc.Protocols.Coordination;
using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;
using Xunit;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

/// <summary>
/// The service's rules for a kkrt-v1 session (docs/protocols/psi.md, "Through the service"), on a fake clock: the pod's
/// setup, then the modeller's query, then the pod's reply; exact sizes; no empty-set shortcut; the deadline names the step.
/// </summary>
public sealed class PsiCoordinatorKkrtTests
{
    private const string V = KkrtPsiVersion.Current;
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);
    private static readonly PsiCoordinator Kkrt = new(new PsiSessionRules("kkrt", false, false, 1000, 0, Timeout, V));
    private static readonly PsiCoordinator KkrtCardinality = new(new PsiSessionRules("kkrt", false, true, 1000, 0, Timeout, V));
    private static readonly PsiCoordinator KkrtEmpty = new(new PsiSessionRules("kkrt", false, false, 0, 0, Timeout, V));
    private readonly DateTimeOffset start = new(2026, 12, 6, 18, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Accept_NeedsTheSessionsVersion_AndNoKeyOrPodCount()
    {
        var none = Kkrt.Accept(Kkrt.Start(start), null, false, version: null);
        AssertRefused(none, RefusalKind.UnsupportedVersion, "The session speaks kkrt version 'kkrt-v1' but the pod accepted with '(none)'; upgrade the pod agent.");
        Assert.Equal(RefusalKind.UnsupportedVersion, Kkrt.Accept(Kkrt.Start(start), null, false, version: "ecdh-oprf-v1").Refusal!.Kind);
        Assert.Equal(RefusalKind.UnsupportedVersion, Kkrt.Accept(Kkrt.Start(start), null, false, version: "kkrt-v2").Refusal!.Kind);
        AssertRefused(Kkrt.Accept(Kkrt.Start(start), [1, 2], false, version: V), RefusalKind.Invalid, "A kkrt session has no public key to publish.");
        AssertRefused(Kkrt.Accept(Kkrt.Start(start), null, false, [1], V), RefusalKind.Invalid, "A kkrt session has no key proof to publish.");
        AssertRefused(KkrtCardinality.Accept(KkrtCardinality.Start(start), null, true, version: V), RefusalKind.Invalid, "Only ecdh cardinality sessions can be counted by the pod.");

        var accepted = KkrtCardinality.Accept(KkrtCardinality.Start(start), null, false, version: V); // cardinality is counted by the modeller

        Assert.Equal(PsiPhase.Exchange, accepted.State.Phase);
        Assert.Equal([new PsiEvent.Accepted("accepted the session (kkrt)")], accepted.Events);
        Assert.False(KkrtCardinality.Accept(accepted.State, null, false, version: V).Changed);
        AssertRefused(KkrtCardinality.Accept(accepted.State, null, true, version: V), RefusalKind.Conflict, "The pod already accepted this session differently.");
    }

    [Fact]
    public void Exchange_SetupThenQueryThenReply_AnswersTheModeller_WithThePodsSetSize()
    {
        var state = Accept(Kkrt.Accept(Kkrt.Start(start), null, false, version: V));
        Assert.False(state.QueryStored || state.ReplyStored);
        AssertRefused(Kkrt.CommitUpload(state, PsiSet.Query, 1756), RefusalKind.WrongPhase, "The kkrt query follows the pod's setup, which is not stored yet.");
        AssertRefused(Kkrt.CommitUpload(state, PsiSet.Reply, 9), RefusalKind.WrongPhase, "The reply follows the modeller's query, which is not stored yet.");
        Assert.Equal(RefusalKind.WrongPhase, Kkrt.CheckUploadOpen(state, PsiSet.Query)!.Kind);
        Assert.Equal(RefusalKind.WrongPhase, Kkrt.CheckDownload(state, PsiSet.PodSet, out _)!.Kind);

        var setup = Kkrt.CommitUpload(state, PsiSet.PodSet, KkrtParameters.BaseOts);
        state = Accept(setup);
        Assert.Equal([new PsiEvent.SetStored(PsiSet.PodSet, KkrtParameters.BaseOts)], setup.Events);
        Assert.True(PsiCoordinator.Stored(state, PsiSet.PodSet));
        Assert.Null(state.ServerSetSize); // the pod's set size is known from the reply only
        Assert.Null(Kkrt.CheckDownload(state, PsiSet.PodSet, out var empty));
        Assert.False(empty);
        AssertRefused(Kkrt.CommitUpload(state, PsiSet.Reply, 9), RefusalKind.WrongPhase, "The reply follows the modeller's query, which is not stored yet.");

        state = Accept(Kkrt.CommitUpload(state, PsiSet.Query, KkrtParameters.Bins(1000)));
        Assert.Equal(PsiPhase.Exchange, state.Phase);
        Assert.Null(Kkrt.CheckDownload(state, PsiSet.Query, out empty));
        Assert.False(empty);
        var answered = Kkrt.CommitUpload(state, PsiSet.Reply, 777);

        Assert.Equal((PsiPhase.Answered, (long?)777, true), (answered.State.Phase, answered.State.ServerSetSize, answered.State.ReplyStored));
        Assert.Equal([new PsiEvent.SetStored(PsiSet.Reply, 777)], answered.Events);
        Assert.Null(Kkrt.CheckDownload(answered.State, PsiSet.Reply, out empty));
        Assert.False(empty);
        Assert.Null(Kkrt.CheckDownload(answered.State, PsiSet.PodSet, out _)); // the modeller may still fetch the setup
    }

    [Fact]
    public void Retries_AreIdempotent_AndLateOrOutOfPhaseUploadsAreRefused()
    {
        var state = Answered(Kkrt, 5);

        foreach (var set in new[] { PsiSet.PodSet, PsiSet.Query, PsiSet.Reply })
        {
            Assert.False(Kkrt.CommitUpload(state, set, 1).Changed); // the payload store already refused different bytes
            Assert.Null(Kkrt.CheckUpload(state, set));
            Assert.Equal(RefusalKind.WrongPhase, Kkrt.CheckUploadOpen(state, set)!.Kind); // no second upload of a stored set
        }

        var exchange = Accept(Kkrt.Accept(Kkrt.Start(start), null, false, version: V));
        AssertRefused(Kkrt.CommitUpload(exchange, PsiSet.DoubleBlinded, 5), RefusalKind.WrongPhase, "A kkrt session takes no double-blinded set.");
        Assert.Equal(RefusalKind.WrongPhase, Kkrt.CheckUploadOpen(Accept(Kkrt.CommitUpload(exchange, PsiSet.PodSet, 512)), PsiSet.DoubleBlinded)!.Kind);
        AssertRefused(Kkrt.CommitUpload(Kkrt.Start(start), PsiSet.PodSet, 512), RefusalKind.WrongPhase, "The session is in phase AwaitingPod, not Exchange.");
        AssertRefused(Kkrt.ReportSealedCount(exchange, new byte[SealedPsiCount.SealedBytes]), RefusalKind.WrongPhase, "In this session the modeller counts; the pod reports no count.");
    }

    [Fact]
    public void OnlyTheReplyMayBeEmpty_AnEmptyPodSetMeansAnEmptyReply()
    {
        var state = Accept(Kkrt.Accept(Kkrt.Start(start), null, false, version: V));
        AssertRefused(Kkrt.CommitUpload(state, PsiSet.PodSet, null), RefusalKind.Invalid, "Only the kkrt reply may be empty; the pod set has a fixed size.");
        state = Accept(Kkrt.CommitUpload(state, PsiSet.PodSet, 512));
        AssertRefused(Kkrt.CommitUpload(state, PsiSet.Query, null), RefusalKind.Invalid, "Only the kkrt reply may be empty; the query has a fixed size.");
        state = Accept(Kkrt.CommitUpload(state, PsiSet.Query, KkrtParameters.Bins(1000)));

        state = Accept(Kkrt.CommitUpload(state, PsiSet.Reply, null));

        Assert.Equal((PsiPhase.Answered, (long?)0), (state.Phase, state.ServerSetSize));
        Assert.Null(Kkrt.CheckDownload(state, PsiSet.Reply, out var empty));
        Assert.True(empty);
    }

    [Fact]
    public void AnEmptyModellerSet_IsNotSpecial_ItsQueryAndReplyStillTravel()
    {
        var state = Accept(KkrtEmpty.Accept(KkrtEmpty.Start(start), null, false, version: V));

        Assert.False(state.QueryStored || state.ReplyStored); // no empty-set shortcut: m(0) = 256 bins travel
        Assert.Equal(KkrtParameters.QueryHeaderBytes + (256L * 64), KkrtEmpty.ExactBytes(PsiSet.Query));
        Assert.Equal(256, KkrtEmpty.Elements(PsiSet.Query, KkrtEmpty.ExactBytes(PsiSet.Query)!.Value));
        state = Accept(KkrtEmpty.CommitUpload(state, PsiSet.PodSet, 512));
        Assert.Equal(RefusalKind.WrongPhase, KkrtEmpty.CheckDownload(state, PsiSet.Query, out _)!.Kind);
        AssertRefused(KkrtEmpty.CommitUpload(state, PsiSet.Reply, 3), RefusalKind.WrongPhase, "The reply follows the modeller's query, which is not stored yet.");
        state = Accept(KkrtEmpty.CommitUpload(state, PsiSet.Query, 256));
        Assert.Null(KkrtEmpty.CheckDownload(state, PsiSet.Query, out var empty));
        Assert.False(empty);
        state = Accept(KkrtEmpty.CommitUpload(state, PsiSet.Reply, 3));

        Assert.Equal(PsiPhase.Answered, state.Phase);
        AssertRefused(KkrtEmpty.Complete(state, 1), RefusalKind.Invalid, "A kkrt count is over the modeller's distinct records: between 0 and its declared set size 0.");
        Assert.Equal(PsiPhase.Completed, KkrtEmpty.Complete(state, 0).State.Phase);
    }

    [Fact]
    public void Sizes_AreExactForSetupAndQuery_AndWholeTagTriplesForTheReply()
    {
        var tag = KkrtParameters.TagBytes(1000);

        Assert.Equal((16, 16, 3 * tag), (Kkrt.ElementBytes(PsiSet.PodSet), Kkrt.ElementBytes(PsiSet.Query), Kkrt.ElementBytes(PsiSet.Reply)));
        Assert.Equal((32_784L, (long?)(16_400 + (64 * KkrtParameters.Bins(1000)))), (Kkrt.ExactBytes(PsiSet.PodSet)!.Value, Kkrt.ExactBytes(PsiSet.Query)));
        Assert.Null(Kkrt.ExactBytes(PsiSet.Reply));
        Assert.Equal(0, KkrtParameters.SetupBytes % Kkrt.ElementBytes(PsiSet.PodSet));
        Assert.Equal(0, KkrtParameters.QueryBytes(1000) % Kkrt.ElementBytes(PsiSet.Query));
        Assert.Equal((512L, KkrtParameters.Bins(1000), 777L), (Kkrt.Elements(PsiSet.PodSet, 32_784), Kkrt.Elements(PsiSet.Query, KkrtParameters.QueryBytes(1000)), Kkrt.Elements(PsiSet.Reply, 777L * 3 * tag)));
        Assert.Null(new PsiCoordinator(new PsiSessionRules("ecdh", false, false, 5, 0, Timeout, EcdhPsiVersion.Current)).ExactBytes(PsiSet.Query));
    }

    [Fact]
    public void Deadline_NamesTheKkrtStepItWaitedFor()
    {
        var accepted = Accept(Kkrt.Accept(Kkrt.Start(start), null, false, version: V));
        var setup = Accept(Kkrt.CommitUpload(accepted, PsiSet.PodSet, 512));
        var query = Accept(Kkrt.CommitUpload(setup, PsiSet.Query, KkrtParameters.Bins(1000)));
        Assert.False(Kkrt.AdvanceIfDue(query, start + Timeout - TimeSpan.FromTicks(1)).Changed);

        Assert.Equal("The session's deadline passed while waiting for the pod's setup, the modeller's query.", Kkrt.AdvanceIfDue(accepted, start + Timeout).State.FailureReason);
        Assert.Equal("The session's deadline passed while waiting for the modeller's query.", Kkrt.AdvanceIfDue(setup, start + Timeout).State.FailureReason);
        var failed = Kkrt.AdvanceIfDue(query, start + Timeout);
        Assert.Equal([new PsiEvent.Failed("The session's deadline passed while waiting for the pod's reply.", null)], failed.Events);
        Assert.Equal("The session's deadline passed while waiting for the modeller to finish.", Kkrt.AdvanceIfDue(Answered(Kkrt, 5), start + Timeout).State.FailureReason);
        Assert.Equal("The session's deadline passed while waiting for the pod to accept.", Kkrt.AdvanceIfDue(Kkrt.Start(start), start + Timeout).State.FailureReason);
        Assert.Equal(RefusalKind.WrongPhase, Kkrt.CheckDownload(failed.State, PsiSet.Query, out _)!.Kind); // the payloads are gone with the session
    }

    [Fact]
    public void CancelAndDecline_EndTheSession_AndNothingIsUploadedAfter()
    {
        var exchange = Accept(Kkrt.CommitUpload(Accept(Kkrt.Accept(Kkrt.Start(start), null, false, version: V)), PsiSet.PodSet, 512));

        var cancelled = Kkrt.Cancel(exchange);
        var declined = Kkrt.Decline(exchange, "the query exceeds this pod's capacity");

        Assert.Equal((PsiPhase.Cancelled, (DateTimeOffset?)null), (cancelled.State.Phase, cancelled.State.Deadline));
        Assert.False(Kkrt.Cancel(cancelled.State).Changed);
        Assert.Equal(RefusalKind.WrongPhase, Kkrt.CheckUploadOpen(cancelled.State, PsiSet.Query)!.Kind);
        Assert.Equal([new PsiEvent.Failed("The pod declined: the query exceeds this pod's capacity", "the query exceeds this pod's capacity")], declined.Events);
        Assert.Equal(RefusalKind.WrongPhase, Kkrt.CommitUpload(declined.State, PsiSet.Query, KkrtParameters.Bins(1000)).Refusal!.Kind);
        AssertRefused(Kkrt.Decline(Answered(Kkrt, 5), "late"), RefusalKind.WrongPhase, "The session is already Answered.");
    }

    [Fact]
    public void Complete_RecordsACountOverDistinctRecords_Once()
    {
        var state = Answered(KkrtCardinality, 4000);
        AssertRefused(KkrtCardinality.Complete(state, 1001), RefusalKind.Invalid, "A kkrt count is over the modeller's distinct records: between 0 and its declared set size 1000.");

        var done = KkrtCardinality.Complete(state, 600);

        Assert.Equal((PsiPhase.Completed, (long?)600), (done.State.Phase, done.State.ReportedCount));
        Assert.Equal([new PsiEvent.Completed(ModellerCounted: true)], done.Events);
        Assert.False(KkrtCardinality.Complete(done.State, 600).Changed);
        AssertRefused(KkrtCardinality.Complete(done.State, 601), RefusalKind.Conflict, "The session was already completed with another reported count.");
    }

    private PsiExchangeState Answered(PsiCoordinator c, long podSetSize)
    {
        var state = Accept(c.Accept(c.Start(start), null, false, version: V));
        foreach (var (set, n) in new[] { (PsiSet.PodSet, 512L), (PsiSet.Query, 1756L), (PsiSet.Reply, podSetSize) }) state = Accept(c.CommitUpload(state, set, n));
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
