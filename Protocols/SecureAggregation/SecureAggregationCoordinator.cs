using System.Collections.Immutable;
using System.Security.Cryptography;
using Smpc.Protocols.Coordination;
using Step = Smpc.Protocols.Coordination.CoordinatorStep<Smpc.Protocols.SecureAggregation.SecureAggregationRoundState, Smpc.Protocols.SecureAggregation.SecureAggregationEvent>;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>
/// The service's side of secure aggregation (DESIGN.md §3.1) as a pure state machine: it decides, for each message and
/// the current time, the round's next state and what the service must do (store, sum, audit), or refuses the message.
/// </summary>
/// <remarks>
/// Pods 1..n, threshold t. Each phase closes when every pod expected in it has acted or declined (with at least t acting),
/// or at its deadline with at least t of them; with fewer the round fails, naming the late and the declined pods.
/// 1. Key exchange: every pod may publish one key bundle, bound to this session and party, signed by the pod's registered
///    identity key. At the close U1 = the bundle senders; the rest are dropped; bundles are released.
/// 2. Share exchange: each pod of U1 sends exactly one sealed envelope to every other pod of U1 (the coordinator checks
///    headers and keeps a digest; the service stores the bytes). At the close U2 = the senders.
/// 3. Masked input: each pod of U2 commits one masked vector of the layout's length (bytes stored by the service). At the
///    close U3 = the committers; <see cref="SecureAggregationEvent.SumSurvivors"/> tells the service to sum U3's vectors
///    mod q. The phase stays masked input, without a deadline, refusing new vectors, until the service reports the sum
///    stored (<see cref="SumStored"/>, which may take minutes for long vectors); then the unmask request (U2, U3) is built.
/// 4. Unmasking: each survivor answers once, sealed to the modeller; with t answers the modeller may fetch the material
///    and completes the round naming exactly U3.
/// A pod may decline at any open phase: its contribution to that phase is withdrawn (once its vector is in the sum it stays
/// included and simply does not answer). A message is idempotent: the same bytes again change nothing; other bytes are a
/// conflict. Deadlines are checked only when the service calls <see cref="AdvanceIfDue"/>, with its clock.
/// </remarks>
public sealed class SecureAggregationCoordinator
{
    private readonly SessionParameters parameters;
    private readonly IReadOnlyList<string> podIds;
    private readonly SecureAggregationTimeouts timeouts;

    /// <summary>A coordinator for the round described by <paramref name="parameters"/>, over the pods named in party order.</summary>
    public SecureAggregationCoordinator(SessionParameters parameters, IReadOnlyList<string> podIds, SecureAggregationTimeouts timeouts)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(podIds);
        ArgumentNullException.ThrowIfNull(timeouts);
        if (podIds.Count != parameters.PartyCount) throw new ArgumentException("one pod id per party", nameof(podIds));
        this.parameters = parameters;
        this.podIds = podIds;
        this.timeouts = timeouts;
    }

    /// <summary>The length in bytes of one masked vector.</summary>
    public long MaskedVectorBytes => (long)parameters.Layout.Length * sizeof(ulong);

    private string SessionId => parameters.SessionId;

    private int Threshold => parameters.Threshold;

    /// <summary>A new round: the key exchange is open until <paramref name="now"/> plus its timeout.</summary>
    public SecureAggregationRoundState Start(DateTimeOffset now) =>
        new() { Phase = SecureAggregationPhase.KeyExchange, Deadline = now + timeouts.KeyExchange };

    /// <summary>Closes the open phase if its deadline has passed: with at least t parties it goes on without the late ones, with fewer it fails.</summary>
    public Step AdvanceIfDue(SecureAggregationRoundState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Deadline is not { } deadline || now < deadline) return Step.Unchanged(state);
        var (acted, expected, step) = Progress(state);
        if (expected.Count == 0) return Step.Unchanged(state);
        var events = new List<SecureAggregationEvent>();
        var actedCount = acted.Count;
        if (actedCount < Threshold)
        {
            var late = expected.Where(p => !acted.Contains(p) && !state.Declined.ContainsKey(p)).Select(PodName);
            var declined = state.Declined.Keys.Any(expected.Contains) ? $"; declined: {DeclinedText(state, expected)}" : "";
            state = Fail(state, $"Only {actedCount} of the {Threshold} parties needed did {step} before the deadline; late: {string.Join(", ", late)}{declined}.", events);
        }
        else
        {
            state = state.Phase switch
            {
                SecureAggregationPhase.KeyExchange => CloseKeyExchange(state, now, events),
                SecureAggregationPhase.ShareExchange => CloseShareExchange(state, now, events),
                SecureAggregationPhase.MaskedInput => CloseMaskedInput(state, events),
                _ => state with { Deadline = null }, // enough responses: the modeller can finish whenever it likes
            };
        }

        return Step.Accepted(state, events);
    }

    /// <summary>Step 1: party <paramref name="party"/> publishes its key bundle, which must carry its registered identity key.</summary>
    public Step SubmitKeyBundle(SecureAggregationRoundState state, int party, byte[] bundle, byte[] registeredIdentityKey, DateTimeOffset now) => Run(state, () =>
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(registeredIdentityKey);
        if (state.KeyBundles.TryGetValue(party, out var existing))
        {
            if (existing.AsSpan().SequenceEqual(bundle)) return Step.Unchanged(state);
            throw RefusedException.Conflict($"Party {party} already published another key bundle.");
        }

        RequirePhase(state, SecureAggregationPhase.KeyExchange, party);
        var parsed = Parse(bundle, b => KeyBundle.Parse(b), "key bundle");
        if (parsed.SessionId != SessionId || parsed.Party != party)
            throw RefusedException.Invalid($"The key bundle must be for session '{SessionId}' and party {party}.");
        if (!parsed.VerifySignature(parameters)) throw RefusedException.Invalid("The key bundle's signature does not verify.");
        if (!registeredIdentityKey.AsSpan().SequenceEqual(parsed.IdentityKey))
            throw RefusedException.Invalid("The key bundle is signed with an identity key other than the pod's registered one.");
        List<SecureAggregationEvent> events = [new SecureAggregationEvent.KeyBundleAccepted(party)];
        return Step.Accepted(Settle(state with { KeyBundles = state.KeyBundles.Add(party, bundle) }, now, events), events);
    });

    /// <summary>Step 2: party <paramref name="party"/> sends its sealed share envelopes, one to every other key holder.</summary>
    public Step SubmitShareEnvelopes(SecureAggregationRoundState state, int party, IReadOnlyList<byte[]> envelopes, DateTimeOffset now) => Run(state, () =>
    {
        ArgumentNullException.ThrowIfNull(envelopes);
        var digest = Digest(envelopes);
        if (state.Envelopes.TryGetValue(party, out var existing))
        {
            if (existing == digest) return Step.Unchanged(state);
            throw RefusedException.Conflict($"Party {party} already sent other share envelopes.");
        }

        RequirePhase(state, SecureAggregationPhase.ShareExchange, party);
        var holders = state.KeyHolders!.Value;
        if (!holders.Contains(party)) throw RefusedException.WrongPhase($"Party {party} published no key bundle and was dropped.");
        var recipients = new SortedSet<int>();
        foreach (var bytes in envelopes)
        {
            var envelope = Parse(bytes, b => ShareEnvelope.Parse(b), "share envelope");
            if (envelope.SessionId != SessionId || envelope.From != party)
                throw RefusedException.Invalid($"Every envelope must be from party {party} of session '{SessionId}'.");
            if (envelope.To == party || !holders.Contains(envelope.To) || !recipients.Add(envelope.To))
                throw RefusedException.Invalid($"Envelope to party {envelope.To} is not expected (self, unknown or repeated).");
        }

        var expected = holders.Where(p => p != party).ToList();
        if (!recipients.SetEquals(expected))
            throw RefusedException.Invalid($"Envelopes are missing for parties {string.Join(", ", expected.Except(recipients))}.");
        List<SecureAggregationEvent> events = [new SecureAggregationEvent.EnvelopesAccepted(party)];
        return Step.Accepted(Settle(state with { Envelopes = state.Envelopes.Add(party, digest) }, now, events), events);
    });

    /// <summary>
    /// Whether party <paramref name="party"/> may upload (or commit) its masked vector now: null when it may, or when it
    /// already committed one (a retry).
    /// </summary>
    public Refusal? CheckMaskedInput(SecureAggregationRoundState state, int party) => Check(() =>
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.MaskedInputs.Contains(party)) return;
        RequireMaskedInputOpen(state, party);
    });

    /// <summary>Whether party <paramref name="party"/> may open an upload of its masked vector now (also again, while the phase is open).</summary>
    public Refusal? CheckMaskedUpload(SecureAggregationRoundState state, int party) => Check(() =>
    {
        ArgumentNullException.ThrowIfNull(state);
        RequireMaskedInputOpen(state, party);
    });

    /// <summary>Step 3: party <paramref name="party"/> committed a masked vector of <paramref name="storedBytes"/> bytes.</summary>
    public Step CommitMaskedInput(SecureAggregationRoundState state, int party, long storedBytes, DateTimeOffset now) => Run(state, () =>
    {
        if (state.MaskedInputs.Contains(party)) return Step.Unchanged(state); // the payload store already refused different bytes
        RequireMaskedInputOpen(state, party);
        if (storedBytes != MaskedVectorBytes) throw RefusedException.Invalid($"The masked vector must hold {MaskedVectorBytes} bytes, not {storedBytes}.");
        var events = new List<SecureAggregationEvent>();
        return Step.Accepted(Settle(state with { MaskedInputs = state.MaskedInputs.Add(party) }, now, events), events);
    });

    /// <summary>Whether U3 is fixed and the service is summing its masked vectors (the masked-input phase has closed to pods).</summary>
    public static bool IsSumming(SecureAggregationRoundState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state.Phase == SecureAggregationPhase.MaskedInput && state.Survivors is not null;
    }

    /// <summary>
    /// The service has stored the survivors' masked sum: the unmask request (U2, U3) is built and unmasking opens. A report
    /// after the round left the sum (cancelled, or already reported) changes nothing.
    /// </summary>
    public Step SumStored(SecureAggregationRoundState state, DateTimeOffset now) => Run(state, () =>
    {
        if (!IsSumming(state)) return Step.Unchanged(state);
        var survivors = state.Survivors!.Value;
        var request = new UnmaskRequest(SessionId, [.. state.ShareSenders!.Value], [.. survivors]).ToBytes();
        var events = new List<SecureAggregationEvent>();
        state = NextPhase(state with { UnmaskRequest = request }, SecureAggregationPhase.Unmasking, now, events);
        return Step.Accepted(Settle(state, now, events), events); // survivors may have declined while the sum ran
    });

    /// <summary>Step 4: survivor <paramref name="party"/> answers the unmask request, sealed to the modeller.</summary>
    public Step SubmitUnmaskResponse(SecureAggregationRoundState state, int party, byte[] response, DateTimeOffset now) => Run(state, () =>
    {
        ArgumentNullException.ThrowIfNull(response);
        if (state.Responses.TryGetValue(party, out var existing))
        {
            if (existing.AsSpan().SequenceEqual(response)) return Step.Unchanged(state);
            throw RefusedException.Conflict($"Party {party} already sent another unmask response.");
        }

        RequirePhase(state, SecureAggregationPhase.Unmasking, party);
        if (!state.Survivors!.Value.Contains(party)) throw RefusedException.WrongPhase($"Party {party} is not a survivor of this round.");
        var parsed = Parse(response, b => UnmaskResponse.Parse(b), "unmask response");
        if (parsed.SessionId != SessionId || parsed.Party != party)
            throw RefusedException.Invalid($"The unmask response must be party {party}'s for session '{SessionId}'.");
        var events = new List<SecureAggregationEvent>();
        return Step.Accepted(Settle(state with { Responses = state.Responses.Add(party, response) }, now, events), events);
    });

    /// <summary>A pod declines (or reports its own failure) with a reason category; it is dropped at once.</summary>
    public Step Decline(SecureAggregationRoundState state, int party, string category, DateTimeOffset now) => Run(state, () =>
    {
        if (!DeclineCategories.All.Contains(category))
            throw RefusedException.Invalid($"category must be one of {string.Join(", ", DeclineCategories.All)}.");
        if (state.Declined.TryGetValue(party, out var earlier))
        {
            if (earlier == category) return Step.Unchanged(state);
            throw RefusedException.Conflict($"Party {party} already declined ({earlier}).");
        }

        if (!IsOpen(state.Phase))
            throw RefusedException.WrongPhase($"The session is {state.Phase}; there is nothing left to decline.{(state.FailureReason is { } r ? $" It failed: {r}" : "")}");
        List<SecureAggregationEvent> events = [new SecureAggregationEvent.PartyDeclined(party, category)];
        state = state with { Declined = state.Declined.Add(party, category) };
        // Its contribution to the open phase is withdrawn (nothing of it was released yet); once its masked vector is in the
        // sum (unmasking) it stays included and simply will not answer.
        switch (state.Phase)
        {
            case SecureAggregationPhase.KeyExchange:
                state = state with { KeyBundles = state.KeyBundles.Remove(party), Dropped = state.Dropped.Add(party) };
                break;
            case SecureAggregationPhase.ShareExchange:
                if (state.Envelopes.ContainsKey(party)) events.Add(new SecureAggregationEvent.EnvelopesWithdrawn(party));
                state = state with { Envelopes = state.Envelopes.Remove(party), Dropped = state.Dropped.Add(party) };
                break;
            case SecureAggregationPhase.MaskedInput when state.Survivors is null:
                state = state with { MaskedInputs = state.MaskedInputs.Remove(party), Dropped = state.Dropped.Add(party) };
                break;
        }

        return Step.Accepted(Settle(state, now, events), events);
    });

    /// <summary>The modeller reports that it computed the result from <paramref name="includedParties"/> (exactly the survivors).</summary>
    public Step Complete(SecureAggregationRoundState state, IReadOnlyList<int> includedParties) => Run(state, () =>
    {
        ArgumentNullException.ThrowIfNull(includedParties);
        var sorted = includedParties.Order().ToList();
        if (state.Phase == SecureAggregationPhase.Completed && state.Included!.Value.SequenceEqual(sorted)) return Step.Unchanged(state);
        RequirePhase(state, SecureAggregationPhase.Unmasking);
        var survivors = state.Survivors!.Value;
        if (!survivors.SequenceEqual(sorted))
            throw RefusedException.Invalid($"The result must include exactly the survivors {string.Join(", ", survivors)}.");
        return Step.Accepted(
            state with { Included = survivors, Deadline = null, Phase = SecureAggregationPhase.Completed },
            [new SecureAggregationEvent.RoundCompleted(survivors)]);
    });

    /// <summary>The round is cancelled (the service records who and why); refused once it has completed or failed.</summary>
    public Step Cancel(SecureAggregationRoundState state) => Run(state, () =>
    {
        if (state.Phase == SecureAggregationPhase.Cancelled) return Step.Unchanged(state);
        if (state.Phase is SecureAggregationPhase.Completed or SecureAggregationPhase.Failed)
            throw RefusedException.WrongPhase($"The session has already {(state.Phase == SecureAggregationPhase.Completed ? "completed" : "failed")}; there is nothing to cancel.");
        return Step.Accepted(state with { Phase = SecureAggregationPhase.Cancelled, Deadline = null }, []);
    });

    /// <summary>Key bundles are released once the key exchange has closed.</summary>
    public Refusal? CheckKeyBundlesReleased(SecureAggregationRoundState state) => Check(() =>
    {
        if (state.KeyHolders is null) throw RefusedException.WrongPhase("Key bundles are released when the key exchange closes.");
    });

    /// <summary>The parties whose envelope addressed to <paramref name="party"/> it receives, once the share exchange has closed.</summary>
    public Refusal? CheckEnvelopesReleased(SecureAggregationRoundState state, int party, out IReadOnlyList<int> senders)
    {
        IReadOnlyList<int> found = [];
        var refusal = Check(() =>
        {
            if (state.ShareSenders is not { } shareSenders) throw RefusedException.WrongPhase("Share envelopes are released when the share exchange closes.");
            if (!shareSenders.Contains(party)) throw RefusedException.WrongPhase($"Party {party} was declared dropped in this round.");
            found = [.. shareSenders.Where(sender => sender != party)];
        });
        senders = found;
        return refusal;
    }

    /// <summary>The unmask request exists once the masked-input phase closed; a pod (<paramref name="party"/> not null) reads it only as a survivor.</summary>
    public Refusal? CheckUnmaskRequest(SecureAggregationRoundState state, int? party) => Check(() =>
    {
        if (state.UnmaskRequest is null) throw RefusedException.WrongPhase("The unmask request exists once the masked-input phase closes.");
        if (party is { } p && !state.Survivors!.Value.Contains(p)) throw RefusedException.WrongPhase("Only survivors answer the unmask request.");
    });

    /// <summary>The modeller's material (bundles, request, responses, masked sum) is ready once t survivors have answered.</summary>
    public Refusal? CheckUnmaskMaterial(SecureAggregationRoundState state) => Check(() =>
    {
        if (state.Phase is not (SecureAggregationPhase.Unmasking or SecureAggregationPhase.Completed)) RequirePhase(state, SecureAggregationPhase.Unmasking);
        if (state.Responses.Count < Threshold)
            throw RefusedException.WrongPhase($"{state.Responses.Count} of the {Threshold} unmask responses needed have arrived.");
    });

    /// <summary>The digest the coordinator keeps of a party's envelopes: SHA-256 over each envelope, length-prefixed, in order.</summary>
    public static string Digest(IReadOnlyList<byte[]> envelopes)
    {
        ArgumentNullException.ThrowIfNull(envelopes);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[4];
        foreach (var envelope in envelopes)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, envelope.Length);
            hash.AppendData(length);
            hash.AppendData(envelope);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static bool IsOpen(SecureAggregationPhase phase) =>
        phase is SecureAggregationPhase.KeyExchange or SecureAggregationPhase.ShareExchange or SecureAggregationPhase.MaskedInput or SecureAggregationPhase.Unmasking;

    private static void RequirePhase(SecureAggregationRoundState state, SecureAggregationPhase phase, int? party = null)
    {
        if (party is { } declined && state.Declined.TryGetValue(declined, out var category))
            throw RefusedException.WrongPhase($"Party {declined} declined this session ({category}) and can no longer take part.");
        if (state.Phase == phase) return;
        if (party is { } p && state.Dropped.Contains(p))
            throw RefusedException.WrongPhase($"Party {p} was declared dropped in this round and can no longer take part.");
        var detail = state.Phase == SecureAggregationPhase.Failed ? $" It failed: {state.FailureReason}" : "";
        throw RefusedException.WrongPhase($"The session is in phase {state.Phase}, not {phase}.{detail}");
    }

    private static void RequireMaskedInputOpen(SecureAggregationRoundState state, int party)
    {
        RequirePhase(state, SecureAggregationPhase.MaskedInput, party);
        if (state.Survivors is { } survivors)
        {
            throw RefusedException.WrongPhase(survivors.Contains(party)
                ? "The masked-input phase has closed; the survivors' vectors are being summed."
                : $"Party {party} was declared dropped in this round (the masked-input phase has closed; the survivors' vectors are being summed).");
        }

        if (!state.ShareSenders!.Value.Contains(party)) throw RefusedException.WrongPhase($"Party {party} was declared dropped in this round.");
    }

    /// <summary>
    /// Closes the open phase as soon as every party expected in it has acted or declined (with at least t acting), and fails
    /// the round as soon as declines leave fewer than t parties who still can.
    /// </summary>
    private SecureAggregationRoundState Settle(SecureAggregationRoundState state, DateTimeOffset now, List<SecureAggregationEvent> events)
    {
        var (acted, expected, step) = Progress(state);
        if (expected.Count == 0) return state;
        var pending = expected.Where(p => !acted.Contains(p) && !state.Declined.ContainsKey(p)).ToList();
        var actedCount = expected.Count(acted.Contains);
        if (actedCount + pending.Count < Threshold)
            return Fail(state, $"Only {actedCount + pending.Count} of the {Threshold} parties needed can still {step}; declined: {DeclinedText(state, expected)}.", events);
        if (pending.Count > 0) return state;
        return state.Phase switch
        {
            SecureAggregationPhase.KeyExchange => CloseKeyExchange(state, now, events),
            SecureAggregationPhase.ShareExchange => CloseShareExchange(state, now, events),
            SecureAggregationPhase.MaskedInput => CloseMaskedInput(state, events),
            SecureAggregationPhase.Unmasking when expected.Any(state.Declined.ContainsKey) => state with { Deadline = null }, // every survivor answered or declined
            _ => state,
        };
    }

    /// <summary>The open phase's parties that acted, the parties expected to, and the step's name.</summary>
    private (IReadOnlySet<int> Acted, IReadOnlyList<int> Expected, string Step) Progress(SecureAggregationRoundState state) => state.Phase switch
    {
        SecureAggregationPhase.KeyExchange => (state.KeyBundles.Keys.ToHashSet(), Enumerable.Range(1, parameters.PartyCount).ToList(), "publish a key bundle"),
        SecureAggregationPhase.ShareExchange => (state.Envelopes.Keys.ToHashSet(), state.KeyHolders!.Value, "send share envelopes"),
        SecureAggregationPhase.MaskedInput when state.Survivors is null => (state.MaskedInputs, state.ShareSenders!.Value, "submit a masked vector"),
        SecureAggregationPhase.Unmasking => (state.Responses.Keys.ToHashSet(), state.Survivors!.Value, "answer the unmask request"),
        _ => (new HashSet<int>(), [], ""), // ended, or summing: nobody is expected to act
    };

    private SecureAggregationRoundState CloseKeyExchange(SecureAggregationRoundState state, DateTimeOffset now, List<SecureAggregationEvent> events)
    {
        ImmutableArray<int> holders = [.. state.KeyBundles.Keys];
        return NextPhase(DropAllBut(state with { KeyHolders = holders }, holders), SecureAggregationPhase.ShareExchange, now, events);
    }

    private SecureAggregationRoundState CloseShareExchange(SecureAggregationRoundState state, DateTimeOffset now, List<SecureAggregationEvent> events)
    {
        ImmutableArray<int> senders = [.. state.Envelopes.Keys];
        return NextPhase(DropAllBut(state with { ShareSenders = senders }, senders), SecureAggregationPhase.MaskedInput, now, events);
    }

    /// <summary>
    /// Fixes U3 and asks the service to sum the survivors' masked vectors; no deadline runs while it sums (the phase closes,
    /// and the unmask request is built, when it reports the sum stored).
    /// </summary>
    private SecureAggregationRoundState CloseMaskedInput(SecureAggregationRoundState state, List<SecureAggregationEvent> events)
    {
        ImmutableArray<int> survivors = [.. state.MaskedInputs];
        events.Add(new SecureAggregationEvent.SumSurvivors(survivors));
        return DropAllBut(state with { Survivors = survivors, Deadline = null }, survivors);
    }

    private SecureAggregationRoundState NextPhase(SecureAggregationRoundState state, SecureAggregationPhase next, DateTimeOffset now, List<SecureAggregationEvent> events)
    {
        events.Add(new SecureAggregationEvent.PhaseClosed(state.Phase, next));
        return state with { Phase = next, Deadline = now + timeouts.For(next) };
    }

    private SecureAggregationRoundState DropAllBut(SecureAggregationRoundState state, ImmutableArray<int> stayed) =>
        state with { Dropped = state.Dropped.Union(Enumerable.Range(1, parameters.PartyCount).Where(p => !stayed.Contains(p))) };

    private static SecureAggregationRoundState Fail(SecureAggregationRoundState state, string reason, List<SecureAggregationEvent> events)
    {
        events.Add(new SecureAggregationEvent.RoundFailed(reason));
        return state with { Phase = SecureAggregationPhase.Failed, FailureReason = reason, Deadline = null };
    }

    private string PodName(int party) => $"{podIds[party - 1]} (party {party})";

    private string DeclinedText(SecureAggregationRoundState state, IEnumerable<int> parties)
    {
        var declined = parties.Where(state.Declined.ContainsKey).Select(p => $"{PodName(p)} ({state.Declined[p]})").ToList();
        return declined.Count == 0 ? "none" : string.Join(", ", declined);
    }

    private static T Parse<T>(byte[] bytes, Func<byte[], T> parse, string what)
    {
        try
        {
            return parse(bytes);
        }
        catch (Exception ex) when (ex is ProtocolException or ArgumentException or IndexOutOfRangeException)
        {
            throw RefusedException.Invalid($"Malformed {what}: {ex.Message}");
        }
    }

    private static Step Run(SecureAggregationRoundState state, Func<Step> step) => RefusedException.Guard(state, step);

    private static Refusal? Check(Action check) => RefusedException.Check(check);
}
