using System.Text.Json;
using Smpc.Protocols.Coordination;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.SecureAggregation;
using Xunit;

namespace Smpc.Protocols.Tests.SecureAggregation;

/// <summary>The service's rules for a secure-aggregation round, on a fake clock: phases, deadlines, survivors, declines, repeats.</summary>
public sealed class SecureAggregationCoordinatorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);
    private readonly DateTimeOffset start = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private readonly SessionParameters parameters;
    private readonly Ed25519KeyPair[] identities;
    private readonly byte[][] bundles;
    private readonly SecureAggregationCoordinator coordinator;
    private DateTimeOffset now;

    public SecureAggregationCoordinatorTests()
    {
        var random = new DeterministicTestRandom(7);
        var modeller = X25519KeyPair.Generate(random);
        parameters = SessionParameters.Create("t1/s1", 4, new VectorLayout([new FieldSpec("x", 3, 1000, -1, 1)]), modeller.PublicKey, null);
        identities = [.. Enumerable.Range(1, 4).Select(_ => Ed25519KeyPair.Generate(random))];
        var pins = Enumerable.Range(1, 4).ToDictionary(i => i, i => identities[i - 1].Fingerprint);
        bundles = [.. Enumerable.Range(1, 4).Select(i => new SecureAggregationParty(parameters, i, identities[i - 1], random, pins).CreateKeyBundle().ToBytes())];
        coordinator = new SecureAggregationCoordinator(parameters, ["pod-a", "pod-b", "pod-c", "pod-d"],
            new SecureAggregationTimeouts(Timeout, Timeout * 2, Timeout * 3, Timeout * 4));
        now = start;
    }

    [Fact]
    public void Start_OpensTheKeyExchangeUntilItsTimeout()
    {
        var state = coordinator.Start(now);

        Assert.Equal(SecureAggregationPhase.KeyExchange, state.Phase);
        Assert.Equal(start + Timeout, state.Deadline);
        Assert.Equal(3, parameters.Threshold);
    }

    [Fact]
    public void KeyBundles_FromEveryPod_CloseTheKeyExchangeAtOnce()
    {
        var state = coordinator.Start(now);
        now += TimeSpan.FromSeconds(10);
        for (var party = 1; party <= 3; party++) state = Accept(coordinator.SubmitKeyBundle(state, party, bundles[party - 1], Identity(party), now));
        Assert.Equal(SecureAggregationPhase.KeyExchange, state.Phase);

        var step = coordinator.SubmitKeyBundle(state, 4, bundles[3], Identity(4), now);

        Assert.True(step.Changed);
        Assert.Equal(SecureAggregationPhase.ShareExchange, step.State.Phase);
        Assert.Equal([1, 2, 3, 4], step.State.KeyHolders!.Value.ToArray());
        Assert.Empty(step.State.Dropped);
        Assert.Equal(now + Timeout * 2, step.State.Deadline);
        Assert.Equal(
            [new SecureAggregationEvent.KeyBundleAccepted(4), new SecureAggregationEvent.PhaseClosed(SecureAggregationPhase.KeyExchange, SecureAggregationPhase.ShareExchange)],
            step.Events);
        Assert.Null(coordinator.CheckKeyBundlesReleased(step.State));
    }

    [Fact]
    public void KeyBundle_SentAgain_IsUnchanged_AndOtherBytesConflict()
    {
        var state = Accept(coordinator.SubmitKeyBundle(coordinator.Start(now), 1, bundles[0], Identity(1), now));

        var repeat = coordinator.SubmitKeyBundle(state, 1, bundles[0], Identity(1), now);
        var other = coordinator.SubmitKeyBundle(state, 1, bundles[1], Identity(1), now);

        Assert.False(repeat.Changed);
        Assert.Null(repeat.Refusal);
        Assert.Same(state, repeat.State);
        AssertRefused(other, RefusalKind.Conflict, "Party 1 already published another key bundle.");
        Assert.Same(state, other.State);
    }

    [Fact]
    public void KeyBundle_ThatIsNotThePodsOwn_IsRefused()
    {
        var state = coordinator.Start(now);

        AssertRefused(coordinator.SubmitKeyBundle(state, 1, bundles[1], Identity(2), now), RefusalKind.Invalid, "The key bundle must be for session 't1/s1' and party 1.");
        AssertRefused(coordinator.SubmitKeyBundle(state, 1, bundles[0], Identity(2), now), RefusalKind.Invalid,
            "The key bundle is signed with an identity key other than the pod's registered one.");
        Assert.StartsWith("Malformed key bundle:", coordinator.SubmitKeyBundle(state, 1, [1, 2, 3], Identity(1), now).Refusal!.Message);
        Assert.Equal(RefusalKind.WrongPhase, coordinator.CheckKeyBundlesReleased(state)!.Kind);
    }

    [Fact]
    public void Deadline_NotYetDue_ChangesNothing()
    {
        var state = coordinator.Start(now);
        now += Timeout - TimeSpan.FromTicks(1);

        var step = coordinator.AdvanceIfDue(state, now);

        Assert.False(step.Changed);
        Assert.Same(state, step.State);
    }

    [Fact]
    public void Deadline_WithThresholdBundles_GoesOnWithoutTheLatePod()
    {
        var state = Bundles(1, 2, 3);
        now += Timeout;

        var step = coordinator.AdvanceIfDue(state, now);

        Assert.Equal(SecureAggregationPhase.ShareExchange, step.State.Phase);
        Assert.Equal([1, 2, 3], step.State.KeyHolders!.Value.ToArray());
        Assert.Equal([4], step.State.Dropped);
        Assert.Equal([new SecureAggregationEvent.PhaseClosed(SecureAggregationPhase.KeyExchange, SecureAggregationPhase.ShareExchange)], step.Events);
        AssertRefused(coordinator.SubmitKeyBundle(step.State, 4, bundles[3], Identity(4), now), RefusalKind.WrongPhase,
            "Party 4 was declared dropped in this round and can no longer take part.");
    }

    [Fact]
    public void Deadline_BelowThreshold_FailsTheRoundNamingTheLatePods()
    {
        var state = Bundles(1, 2);
        now += Timeout;

        var step = coordinator.AdvanceIfDue(state, now);

        const string reason = "Only 2 of the 3 parties needed did publish a key bundle before the deadline; late: pod-c (party 3), pod-d (party 4).";
        Assert.Equal(SecureAggregationPhase.Failed, step.State.Phase);
        Assert.Equal(reason, step.State.FailureReason);
        Assert.Null(step.State.Deadline);
        Assert.Equal([new SecureAggregationEvent.RoundFailed(reason)], step.Events);
        AssertRefused(coordinator.SubmitKeyBundle(step.State, 3, bundles[2], Identity(3), now), RefusalKind.WrongPhase,
            $"The session is in phase Failed, not KeyExchange. It failed: {reason}");
    }

    [Fact]
    public void ShareEnvelopes_MustReachEveryOtherKeyHolder_Once()
    {
        var state = coordinator.AdvanceIfDue(Bundles(1, 2, 3), now += Timeout).State;

        AssertRefused(coordinator.SubmitShareEnvelopes(state, 1, [Envelope(1, 2)], now), RefusalKind.Invalid, "Envelopes are missing for parties 3.");
        AssertRefused(coordinator.SubmitShareEnvelopes(state, 1, [Envelope(1, 2), Envelope(1, 4)], now), RefusalKind.Invalid,
            "Envelope to party 4 is not expected (self, unknown or repeated).");
        AssertRefused(coordinator.SubmitShareEnvelopes(state, 1, [Envelope(2, 3), Envelope(1, 3)], now), RefusalKind.Invalid,
            "Every envelope must be from party 1 of session 't1/s1'.");
        AssertRefused(coordinator.SubmitShareEnvelopes(state, 4, [Envelope(4, 1)], now), RefusalKind.WrongPhase,
            "Party 4 published no key bundle and was dropped.");

        var step = coordinator.SubmitShareEnvelopes(state, 1, [Envelope(1, 2), Envelope(1, 3)], now);
        Assert.Equal([new SecureAggregationEvent.EnvelopesAccepted(1)], step.Events);
        Assert.False(coordinator.SubmitShareEnvelopes(step.State, 1, [Envelope(1, 2), Envelope(1, 3)], now).Changed);
        AssertRefused(coordinator.SubmitShareEnvelopes(step.State, 1, [Envelope(1, 3), Envelope(1, 2)], now), RefusalKind.Conflict,
            "Party 1 already sent other share envelopes.");
    }

    [Fact]
    public void EnvelopesAreReleased_OnlyToShareSenders_AfterTheShareExchange()
    {
        var state = Shares(Bundles(1, 2, 3, 4), 1, 2, 3, 4);
        Assert.Equal(SecureAggregationPhase.MaskedInput, state.Phase);

        Assert.Null(coordinator.CheckEnvelopesReleased(state, 2, out var senders));
        Assert.Equal([1, 3, 4], senders);
        Assert.Equal(RefusalKind.WrongPhase, coordinator.CheckEnvelopesReleased(Bundles(1, 2, 3), 2, out _)!.Kind);
    }

    [Fact]
    public void MaskedInputs_FromEveryShareSender_AskForTheSumOfExactlyThem()
    {
        var state = Shares(Bundles(1, 2, 3, 4), 1, 2, 3, 4);
        for (var party = 1; party <= 3; party++) state = Accept(coordinator.CommitMaskedInput(state, party, coordinator.MaskedVectorBytes, now));

        var step = coordinator.CommitMaskedInput(state, 4, coordinator.MaskedVectorBytes, now);

        // U3 is fixed and the sum asked for; the phase stays open to nobody, with no deadline, until the sum is stored.
        Assert.Equal(SecureAggregationPhase.MaskedInput, step.State.Phase);
        Assert.True(SecureAggregationCoordinator.IsSumming(step.State));
        Assert.Null(step.State.Deadline);
        Assert.Null(step.State.UnmaskRequest);
        var sum = Assert.Single(step.Events.OfType<SecureAggregationEvent.SumSurvivors>());
        Assert.Equal([1, 2, 3, 4], sum.Survivors);
        now += Timeout * 10;
        Assert.False(coordinator.AdvanceIfDue(step.State, now).Changed);

        var stored = coordinator.SumStored(step.State, now);

        Assert.Equal(SecureAggregationPhase.Unmasking, stored.State.Phase);
        Assert.Equal([new SecureAggregationEvent.PhaseClosed(SecureAggregationPhase.MaskedInput, SecureAggregationPhase.Unmasking)], stored.Events);
        var request = UnmaskRequest.Parse(stored.State.UnmaskRequest);
        Assert.Equal([1, 2, 3, 4], request.ShareSenders);
        Assert.Equal([1, 2, 3, 4], request.Survivors);
        Assert.Equal(now + Timeout * 4, stored.State.Deadline);
        Assert.False(coordinator.SumStored(stored.State, now).Changed); // a repeated report
    }

    [Fact]
    public void WhileSumming_NoNewVectorIsTaken_ACommittedOneIsARetry_AndADeclineKeepsTheVector()
    {
        var state = Masked(Shares(Bundles(1, 2, 3, 4), 1, 2, 3, 4), 1, 2, 3);
        state = coordinator.AdvanceIfDue(state, now += Timeout * 3).State;
        Assert.True(SecureAggregationCoordinator.IsSumming(state));

        AssertRefused(coordinator.CommitMaskedInput(state, 4, coordinator.MaskedVectorBytes, now), RefusalKind.WrongPhase,
            "Party 4 was declared dropped in this round (the masked-input phase has closed; the survivors' vectors are being summed).");
        Assert.Equal("The masked-input phase has closed; the survivors' vectors are being summed.", coordinator.CheckMaskedUpload(state, 1)!.Message);
        Assert.Null(coordinator.CheckMaskedInput(state, 1));
        Assert.False(coordinator.CommitMaskedInput(state, 1, coordinator.MaskedVectorBytes, now).Changed);
        Assert.Equal(RefusalKind.WrongPhase, coordinator.CheckUnmaskRequest(state, 1)!.Kind);

        // A survivor that declines while the sum runs stays in it (its vector is in) and will not answer; a decline that leaves
        // fewer than t to answer fails the round once unmasking opens.
        var all = Masked(Shares(Bundles(1, 2, 3, 4), 1, 2, 3, 4), 1, 2, 3, 4);
        var declined = Accept(coordinator.Decline(all, 4, DeclineCategories.Internal, now));
        Assert.Equal([1, 2, 3, 4], declined.Survivors!.Value.ToArray());
        Assert.Equal([1, 2, 3, 4], declined.MaskedInputs);
        var unmasking = Accept(coordinator.SumStored(declined, now));
        Assert.Equal(SecureAggregationPhase.Unmasking, unmasking.Phase);
        Assert.Equal([1, 2, 3, 4], UnmaskRequest.Parse(unmasking.UnmaskRequest).Survivors);
        Assert.Equal(SecureAggregationPhase.Failed, Accept(coordinator.SumStored(Accept(coordinator.Decline(declined, 3, DeclineCategories.Internal, now)), now)).Phase);
    }

    [Fact]
    public void MaskedInput_OfTheWrongLength_OrFromADroppedPod_IsRefused()
    {
        var state = Shares(Bundles(1, 2, 3, 4), 1, 2, 3);
        Assert.Equal([4], state.Dropped);

        AssertRefused(coordinator.CommitMaskedInput(state, 1, 8, now), RefusalKind.Invalid, "The masked vector must hold 24 bytes, not 8.");
        Assert.Equal(RefusalKind.WrongPhase, coordinator.CheckMaskedInput(state, 4)!.Kind);
        Assert.Null(coordinator.CheckMaskedInput(state, 1));
        var committed = Accept(coordinator.CommitMaskedInput(state, 1, 24, now));
        Assert.False(coordinator.CommitMaskedInput(committed, 1, 24, now).Changed);
        Assert.Null(coordinator.CheckMaskedInput(committed, 1)); // a retry of the upload is let through
    }

    [Fact]
    public void MaskedInputDeadline_WithThreshold_SumsOnlyTheSurvivors()
    {
        var state = Masked(Shares(Bundles(1, 2, 3, 4), 1, 2, 3, 4), 1, 3, 4);
        now += Timeout * 3;

        var step = coordinator.AdvanceIfDue(state, now);

        Assert.Equal([new SecureAggregationEvent.SumSurvivors([1, 3, 4])], step.Events, new EventComparer());
        Assert.Equal([1, 3, 4], step.State.Survivors!.Value.ToArray());
        Assert.Equal([2], step.State.Dropped);
        var request = UnmaskRequest.Parse(Summed(step.State).UnmaskRequest);
        Assert.Equal([1, 2, 3, 4], request.ShareSenders);
        Assert.Equal([1, 3, 4], request.Survivors);
    }

    [Fact]
    public void Unmasking_NeedsThresholdResponsesFromSurvivors_ThenCompletesWithExactlyThem()
    {
        var state = Summed(coordinator.AdvanceIfDue(Masked(Shares(Bundles(1, 2, 3, 4), 1, 2, 3, 4), 1, 3, 4), now += Timeout * 3).State);
        AssertRefused(coordinator.SubmitUnmaskResponse(state, 2, Response(2), now), RefusalKind.WrongPhase, "Party 2 is not a survivor of this round.");
        Assert.Equal("Only survivors answer the unmask request.", coordinator.CheckUnmaskRequest(state, 2)!.Message);
        Assert.Null(coordinator.CheckUnmaskRequest(state, 3));
        Assert.Null(coordinator.CheckUnmaskRequest(state, null));
        AssertRefused(coordinator.SubmitUnmaskResponse(state, 1, Response(3), now), RefusalKind.Invalid, "The unmask response must be party 1's for session 't1/s1'.");

        state = Accept(coordinator.SubmitUnmaskResponse(state, 1, Response(1), now));
        state = Accept(coordinator.SubmitUnmaskResponse(state, 3, Response(3), now));
        Assert.Equal("2 of the 3 unmask responses needed have arrived.", coordinator.CheckUnmaskMaterial(state)!.Message);
        state = Accept(coordinator.SubmitUnmaskResponse(state, 4, Response(4), now));
        Assert.Null(coordinator.CheckUnmaskMaterial(state));
        Assert.NotNull(state.Deadline); // every survivor answered, none declined: the deadline stays until it passes
        AssertRefused(coordinator.SubmitUnmaskResponse(state, 4, Response(4, 9), now), RefusalKind.Conflict, "Party 4 already sent another unmask response.");

        AssertRefused(coordinator.Complete(state, [1, 2, 3, 4]), RefusalKind.Invalid, "The result must include exactly the survivors 1, 3, 4.");
        var done = coordinator.Complete(state, [4, 1, 3]);
        Assert.Equal(SecureAggregationPhase.Completed, done.State.Phase);
        Assert.Null(done.State.Deadline);
        Assert.Equal([1, 3, 4], done.State.Included!.Value.ToArray());
        var completed = Assert.IsType<SecureAggregationEvent.RoundCompleted>(Assert.Single(done.Events));
        Assert.Equal([1, 3, 4], completed.Included);
        Assert.False(coordinator.Complete(done.State, [1, 3, 4]).Changed);
        Assert.Null(coordinator.CheckUnmaskMaterial(done.State));
        AssertRefused(coordinator.Complete(done.State, [1, 3]), RefusalKind.WrongPhase, "The session is in phase Completed, not Unmasking.");
    }

    [Fact]
    public void UnmaskingDeadline_WithEnoughResponses_OnlyClearsTheDeadline_AndWithFewerFails()
    {
        var unmasking = Summed(coordinator.AdvanceIfDue(Masked(Shares(Bundles(1, 2, 3, 4), 1, 2, 3, 4), 1, 2, 3), now += Timeout * 3).State);
        var enough = unmasking;
        foreach (var party in new[] { 1, 2, 3 }) enough = Accept(coordinator.SubmitUnmaskResponse(enough, party, Response(party), now));
        var few = Accept(coordinator.SubmitUnmaskResponse(unmasking, 1, Response(1), now));
        now += Timeout * 4;

        var cleared = coordinator.AdvanceIfDue(enough, now);
        var failed = coordinator.AdvanceIfDue(few, now);

        Assert.Equal(SecureAggregationPhase.Unmasking, cleared.State.Phase);
        Assert.Null(cleared.State.Deadline);
        Assert.Empty(cleared.Events);
        Assert.Equal(SecureAggregationPhase.Failed, failed.State.Phase);
        Assert.Equal("Only 1 of the 3 parties needed did answer the unmask request before the deadline; late: pod-b (party 2), pod-c (party 3).", failed.State.FailureReason);
    }

    [Fact]
    public void Decline_LeavingThreshold_DropsThePod_AndClosesThePhaseWhenTheRestActed()
    {
        var state = Bundles(1, 2, 3);

        var step = coordinator.Decline(state, 4, DeclineCategories.Policy, now);

        Assert.Equal(SecureAggregationPhase.ShareExchange, step.State.Phase);
        Assert.Equal([4], step.State.Dropped);
        Assert.Equal(DeclineCategories.Policy, step.State.Declined[4]);
        Assert.Equal(new SecureAggregationEvent.PartyDeclined(4, DeclineCategories.Policy), step.Events[0]);
        AssertRefused(coordinator.SubmitShareEnvelopes(step.State, 4, [Envelope(4, 1)], now), RefusalKind.WrongPhase,
            $"Party 4 declined this session ({DeclineCategories.Policy}) and can no longer take part.");
    }

    [Fact]
    public void Declines_BelowThreshold_FailTheRoundAtOnce()
    {
        var state = Accept(coordinator.Decline(Bundles(1), 4, DeclineCategories.Policy, now));
        Assert.Equal(SecureAggregationPhase.KeyExchange, state.Phase); // 3 can still publish: exactly the threshold

        var step = coordinator.Decline(state, 2, DeclineCategories.InputMissing, now);

        const string reason = "Only 2 of the 3 parties needed can still publish a key bundle; declined: pod-b (party 2) (input-missing), pod-d (party 4) (policy).";
        Assert.Equal(SecureAggregationPhase.Failed, step.State.Phase);
        Assert.Equal(reason, step.State.FailureReason);
        Assert.Equal([new SecureAggregationEvent.PartyDeclined(2, DeclineCategories.InputMissing), new SecureAggregationEvent.RoundFailed(reason)], step.Events);
    }

    [Fact]
    public void Decline_WithdrawsTheOpenPhasesContribution()
    {
        var keys = Accept(coordinator.Decline(Bundles(1, 2), 1, DeclineCategories.Policy, now));
        Assert.False(keys.KeyBundles.ContainsKey(1));

        var shares = Shares(Bundles(1, 2, 3, 4), 1);
        var withdrawn = coordinator.Decline(shares, 1, DeclineCategories.Internal, now);
        Assert.False(withdrawn.State.Envelopes.ContainsKey(1));
        Assert.Contains(new SecureAggregationEvent.EnvelopesWithdrawn(1), withdrawn.Events);

        var masked = Masked(Shares(Bundles(1, 2, 3, 4), 1, 2, 3, 4), 1);
        Assert.DoesNotContain(1, Accept(coordinator.Decline(masked, 1, DeclineCategories.Internal, now)).MaskedInputs);
    }

    [Fact]
    public void Decline_InUnmasking_KeepsTheVector_AndEndsTheWaitOnceEverySurvivorActed()
    {
        var state = Summed(Masked(Shares(Bundles(1, 2, 3, 4), 1, 2, 3, 4), 1, 2, 3, 4));
        foreach (var party in new[] { 1, 2, 3 }) state = Accept(coordinator.SubmitUnmaskResponse(state, party, Response(party), now));

        var step = coordinator.Decline(state, 4, DeclineCategories.Internal, now);

        Assert.Equal(SecureAggregationPhase.Unmasking, step.State.Phase);
        Assert.Null(step.State.Deadline);
        Assert.DoesNotContain(4, step.State.Dropped);
        Assert.Equal([1, 2, 3, 4], step.State.Survivors!.Value.ToArray());
    }

    [Fact]
    public void Decline_Repeated_IsUnchanged_OtherwiseRefused()
    {
        var state = Accept(coordinator.Decline(coordinator.Start(now), 4, DeclineCategories.Policy, now));

        Assert.False(coordinator.Decline(state, 4, DeclineCategories.Policy, now).Changed);
        AssertRefused(coordinator.Decline(state, 4, DeclineCategories.Internal, now), RefusalKind.Conflict, "Party 4 already declined (policy).");
        Assert.Equal(RefusalKind.Invalid, coordinator.Decline(state, 1, "because", now).Refusal!.Kind);
        var failed = coordinator.AdvanceIfDue(state, now + Timeout).State;
        AssertRefused(coordinator.Decline(failed, 1, DeclineCategories.Policy, now), RefusalKind.WrongPhase,
            $"The session is Failed; there is nothing left to decline. It failed: {failed.FailureReason}");
    }

    [Fact]
    public void Cancel_EndsAnOpenRound_OnceOnly()
    {
        var state = Bundles(1, 2);

        var cancelled = coordinator.Cancel(state);

        Assert.Equal(SecureAggregationPhase.Cancelled, cancelled.State.Phase);
        Assert.Null(cancelled.State.Deadline);
        Assert.False(coordinator.Cancel(cancelled.State).Changed);
        Assert.False(coordinator.AdvanceIfDue(cancelled.State, now + Timeout * 10).Changed);
        AssertRefused(coordinator.SubmitKeyBundle(cancelled.State, 3, bundles[2], Identity(3), now), RefusalKind.WrongPhase,
            "The session is in phase Cancelled, not KeyExchange.");
        var failed = coordinator.AdvanceIfDue(state, now + Timeout).State;
        AssertRefused(coordinator.Cancel(failed), RefusalKind.WrongPhase, "The session has already failed; there is nothing to cancel.");
    }

    [Fact]
    public void State_RoundTripsThroughJson()
    {
        var state = Summed(coordinator.AdvanceIfDue(Masked(Shares(Bundles(1, 2, 3, 4), 1, 2, 3), 1, 2, 3), now + Timeout * 3).State);
        state = Accept(coordinator.Decline(state, 2, DeclineCategories.Internal, now));

        var copy = JsonSerializer.Deserialize<SecureAggregationRoundState>(JsonSerializer.Serialize(state))!;

        Assert.Equal(state.Phase, copy.Phase);
        Assert.Equal(state.Deadline, copy.Deadline);
        Assert.Equal(state.KeyBundles.Keys, copy.KeyBundles.Keys);
        Assert.Equal(state.KeyBundles[3], copy.KeyBundles[3]);
        Assert.Equal(state.Envelopes, copy.Envelopes);
        Assert.Equal(state.Survivors!.Value, copy.Survivors!.Value.ToArray());
        Assert.Equal(state.Declined, copy.Declined);
        Assert.Equal(state.UnmaskRequest, copy.UnmaskRequest);
        Assert.Null(copy.Included);
    }

    private byte[] Identity(int party) => identities[party - 1].PublicKey;

    private SecureAggregationRoundState Bundles(params int[] parties)
    {
        var state = coordinator.Start(now);
        foreach (var party in parties) state = Accept(coordinator.SubmitKeyBundle(state, party, bundles[party - 1], Identity(party), now));
        return state;
    }

    /// <summary>Closes the key exchange (at its deadline if needed), then the given parties send their envelopes.</summary>
    private SecureAggregationRoundState Shares(SecureAggregationRoundState state, params int[] parties)
    {
        if (state.Phase == SecureAggregationPhase.KeyExchange) state = coordinator.AdvanceIfDue(state, now += Timeout).State;
        var holders = state.KeyHolders!.Value;
        foreach (var party in parties)
            state = Accept(coordinator.SubmitShareEnvelopes(state, party, [.. holders.Where(h => h != party).Select(h => Envelope(party, h))], now));
        if (state.Phase == SecureAggregationPhase.ShareExchange && parties.Length >= parameters.Threshold) state = coordinator.AdvanceIfDue(state, now += Timeout * 2).State;
        return state;
    }

    private SecureAggregationRoundState Masked(SecureAggregationRoundState state, params int[] parties)
    {
        foreach (var party in parties) state = Accept(coordinator.CommitMaskedInput(state, party, coordinator.MaskedVectorBytes, now));
        return state;
    }

    /// <summary>The service reports the masked sum stored: unmasking opens.</summary>
    private SecureAggregationRoundState Summed(SecureAggregationRoundState state) => Accept(coordinator.SumStored(state, now));

    private static byte[] Envelope(int from, int to) => new ShareEnvelope("t1/s1", from, to, [(byte)from, (byte)to]).ToBytes();

    private static byte[] Response(int party, byte content = 1) => new UnmaskResponse("t1/s1", party, [content]).ToBytes();

    private static SecureAggregationRoundState Accept(CoordinatorStep<SecureAggregationRoundState, SecureAggregationEvent> step)
    {
        Assert.Null(step.Refusal);
        return step.State;
    }

    private static void AssertRefused(CoordinatorStep<SecureAggregationRoundState, SecureAggregationEvent> step, RefusalKind kind, string message)
    {
        Assert.Equal(new Refusal(kind, message), step.Refusal);
        Assert.False(step.Changed);
        Assert.Empty(step.Events);
    }

    /// <summary>Events compared by what they say (lists element by element).</summary>
    private sealed class EventComparer : IEqualityComparer<SecureAggregationEvent>
    {
        public bool Equals(SecureAggregationEvent? x, SecureAggregationEvent? y) => (x, y) switch
        {
            (SecureAggregationEvent.SumSurvivors a, SecureAggregationEvent.SumSurvivors b) => a.Survivors.SequenceEqual(b.Survivors),
            _ => object.Equals(x, y),
        };

        public int GetHashCode(SecureAggregationEvent obj) => obj.GetType().GetHashCode();
    }
}
