using Smpc.Protocols.Coordination;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;
using Step = Smpc.Protocols.Coordination.CoordinatorStep<Smpc.Protocols.PrivateSetIntersection.PsiExchangeState, Smpc.Protocols.PrivateSetIntersection.PsiEvent>;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// The service's side of private set intersection (DESIGN.md §3.4) as a pure state machine: for each message and the
/// current time, the session's next state and what the service must do, or a refusal.
/// </summary>
/// <remarks>
/// Modeller M (the client, learns the result), pod P (the server), one session deadline:
/// 1. Awaiting the pod: P accepts (rsa-blind: its fresh RSA public key of the asked size; ecdh: the session's protocol
///    version, and ecdh cardinality is always counted by P) or declines, which fails the session with P's reason.
/// 2. Exchange: P stores its set; M stores its query (of exactly the declared size); P stores its reply to the query.
///    Pod-counted: M stores the double-blinded set (as large as P's) and P reports its count sealed to M's count key
///    (<see cref="SealedPsiCount"/>) instead of a reply; the service keeps only the ciphertext.
///    A declared size of 0 needs no query and no reply (ecdh, rsa-blind).
///    kkrt (docs/protocols/psi.md, "kkrt-v1"): P's set is its setup (exactly <see cref="KkrtParameters.SetupBytes"/>), M's
///    query (exactly <see cref="KkrtParameters.QueryBytes"/> of the declared size, m(n) rows, so also for n = 0) follows
///    it, and P's reply (three lists of n_P tags of ℓ bytes, a multiple of 3ℓ) follows the query; the reply's length tells
///    the service n_P. The service checks lengths and order only; the parties check the elements.
/// 3. Answered once P's set and the reply (or P's count) are stored: M finishes locally and completes, reporting a count
///    of its choice (never another than P's).
/// The deadline fails a session that has not completed, naming what it waited for. Every message is idempotent; a
/// different repeat is a conflict. The sets are deleted when the session ends.
/// </remarks>
public sealed class PsiCoordinator
{
    private readonly PsiSessionRules rules;

    /// <summary>A coordinator for a session under <paramref name="rules"/>.</summary>
    public PsiCoordinator(PsiSessionRules rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        this.rules = rules;
    }

    /// <summary>A new session, awaiting the pod until <paramref name="now"/> plus its timeout.</summary>
    public PsiExchangeState Start(DateTimeOffset now) => new() { Phase = PsiPhase.AwaitingPod, Deadline = now + rules.Timeout };

    /// <summary>
    /// The size of one element of <paramref name="set"/> in bytes, the unit uploads are chunked and charged in (RSA elements
    /// are as long as the modulus; kkrt: 16-byte blocks of the setup and query, one pod record's three tags, 3ℓ, in the reply).
    /// </summary>
    public int ElementBytes(PsiSet set) => rules.Kkrt
        ? set == PsiSet.Reply ? KkrtParameters.HashFunctions * KkrtParameters.TagBytes(rules.ModellerSetSize) : KkrtBlockBytes
        : set is PsiSet.Query or PsiSet.Reply && rules.RsaBlind ? rules.KeyBits / 8 : 32;

    /// <summary>
    /// The elements a stored <paramref name="set"/> of <paramref name="bytes"/> bytes holds, as the session counts and
    /// measures them: the element count (ecdh, rsa-blind); kkrt: the base OTs of the setup, the rows (bins) of the query,
    /// the pod's records (n_P) of the reply.
    /// </summary>
    public long Elements(PsiSet set, long bytes) => !rules.Kkrt ? bytes / ElementBytes(set) : set switch
    {
        PsiSet.PodSet => KkrtParameters.BaseOts,
        PsiSet.Query => KkrtParameters.Bins(rules.ModellerSetSize),
        _ => bytes / ElementBytes(set),
    };

    /// <summary>kkrt: the exact length of <paramref name="set"/> (setup, query), or null when only its unit is fixed (reply).</summary>
    public long? ExactBytes(PsiSet set) => !rules.Kkrt ? null : set switch
    {
        PsiSet.PodSet => KkrtParameters.SetupBytes,
        PsiSet.Query => KkrtParameters.QueryBytes(rules.ModellerSetSize),
        _ => null,
    };

    /// <summary>kkrt chunks its setup and query in 16-byte blocks (both lengths are multiples of 16: 32,784 = 16·2049, 16,400 + 64·m).</summary>
    private const int KkrtBlockBytes = 16;

    /// <summary>Fails the session if its deadline has passed, naming what it waited for.</summary>
    public Step AdvanceIfDue(PsiExchangeState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Deadline is not { } deadline || now < deadline) return Step.Unchanged(state);
        if (state.Phase is PsiPhase.Completed or PsiPhase.Failed) return Step.Unchanged(state);
        var waiting = state.Phase switch
        {
            PsiPhase.AwaitingPod => "the pod to accept",
            PsiPhase.Answered => "the modeller to finish",
            _ when rules.Kkrt => string.Join(", ", new[]
            {
                !Stored(state, PsiSet.PodSet) ? "the pod's setup" : null,
                !state.QueryStored ? "the modeller's query" : null,
                state.QueryStored && !state.ReplyStored ? "the pod's reply" : null,
            }.OfType<string>()),
            _ => string.Join(", ", new[]
            {
                state.ServerSetSize is null ? "the pod's encoded set" : null,
                !state.QueryStored ? "the modeller's query" : null,
                state.QueryStored && !state.CountedByPod && !state.ReplyStored ? "the pod's reply" : null,
                state.CountedByPod && !state.DoubleBlindedStored ? "the modeller's double-blinded set" : null,
                state.CountedByPod && state.DoubleBlindedStored && state.PodCount is null ? "the pod's count" : null,
            }.OfType<string>()),
        };
        return Fail(state, $"The session's deadline passed while waiting for {waiting}.", null);
    }

    /// <summary>
    /// Step 1: the pod accepts (with its RSA public key and, from certified-key agents, the key's certification proof for
    /// rsa-blind; with the session's version for ecdh and kkrt, counting itself for ecdh cardinality). The service checks the
    /// proof's shape only: the modeller verifies it.
    /// </summary>
    public Step Accept(PsiExchangeState state, byte[]? publicKey, bool countedByPod, byte[]? keyProof = null, string? version = null) => Run(state, () =>
    {
        if (!rules.RsaBlind && version != rules.Version)
        {
            // Checked before anything else: an old pod (no version) must learn why, not run a construction the modeller does not.
            throw RefusedException.UnsupportedVersion(rules.Kkrt
                ? $"The session speaks kkrt version '{rules.Version ?? "(none)"}' but the pod accepted with '{version ?? "(none)"}'; upgrade the pod agent."
                : $"The session speaks ecdh version '{rules.Version ?? "(none)"}' but the pod accepted with '{version ?? "(none: an ecdh pod from before ecdh-oprf-v1)"}'; upgrade the pod agent.");
        }

        if (state.Accepted)
        {
            if (state.CountedByPod == countedByPod && (state.PublicKey ?? []).AsSpan().SequenceEqual(publicKey ?? [])
                && (state.KeyProof ?? []).AsSpan().SequenceEqual(keyProof ?? [])) return Step.Unchanged(state);
            throw RefusedException.Conflict("The pod already accepted this session differently.");
        }

        RequirePhase(state, PsiPhase.AwaitingPod);
        if (rules.RsaBlind)
        {
            if (publicKey is null) throw RefusedException.Invalid("An rsa-blind session needs the pod's RSA public key.");
            RsaPsiPublicKey key;
            try
            {
                key = RsaPsiPublicKey.Parse(publicKey);
            }
            catch (ProtocolException ex)
            {
                throw RefusedException.Invalid($"Malformed RSA public key: {ex.Message}");
            }

            if (key.ModulusBytes * 8 != rules.KeyBits || (key.Modulus[0] & 0x80) == 0)
                throw RefusedException.Invalid($"The session asks for a {rules.KeyBits}-bit RSA key.");
            if (keyProof is not null && !RsaKeyCertification.HasProofShape(keyProof, key.ModulusBytes))
                throw RefusedException.Invalid($"A key-certification proof is {RsaKeyCertification.ProofLength(key.ModulusBytes)} bytes: version {RsaKeyCertification.FormatVersion}, m = {RsaKeyCertification.Rounds}, then m roots of k bytes.");
        }
        else if (publicKey is not null)
        {
            throw RefusedException.Invalid($"{(rules.Kkrt ? "A kkrt" : "An ecdh")} session has no public key to publish.");
        }
        else if (keyProof is not null)
        {
            throw RefusedException.Invalid($"{(rules.Kkrt ? "A kkrt" : "An ecdh")} session has no key proof to publish.");
        }

        if (countedByPod && (rules.RsaBlind || rules.Kkrt || !rules.Cardinality))
            throw RefusedException.Invalid("Only ecdh cardinality sessions can be counted by the pod.");
        if (!countedByPod && !rules.RsaBlind && !rules.Kkrt && rules.Cardinality)
            throw RefusedException.Invalid("ecdh cardinality is counted by the pod (ecdh-oprf-v1): a modeller-counted count cannot withstand per-record blinds.");
        // Nothing to query, nothing to reply; not kkrt, where 0 is not special: its m(0) = 256 bins travel as for any size.
        var empty = rules.ModellerSetSize == 0 && !rules.Kkrt;
        return Step.Accepted(
            state with { Accepted = true, PublicKey = publicKey, KeyProof = keyProof, CountedByPod = countedByPod, Phase = PsiPhase.Exchange, QueryStored = empty, ReplyStored = empty },
            [new PsiEvent.Accepted($"accepted the session ({rules.Protocol}{(countedByPod ? ", counted by the pod" : "")})")]);
    });

    /// <summary>The pod declines or ends the session under its policy; the session fails with its reason.</summary>
    public Step Decline(PsiExchangeState state, string reason) => Run(state, () =>
    {
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > 500) throw RefusedException.Invalid("A reason of 1 to 500 characters is needed.");
        var failure = $"The pod declined: {reason.Trim()}";
        if (state.Phase == PsiPhase.Failed && state.FailureReason == failure) return Step.Unchanged(state);
        if (state.Phase is PsiPhase.Completed or PsiPhase.Failed or PsiPhase.Answered or PsiPhase.Cancelled)
            throw RefusedException.WrongPhase($"The session is already {state.Phase}.");
        return Fail(state, failure, reason.Trim());
    });

    /// <summary>Whether <paramref name="set"/> may be uploaded now: null when it may, or when it is already stored (a retry).</summary>
    public Refusal? CheckUpload(PsiExchangeState state, PsiSet set) => Check(() =>
    {
        if (!Stored(state, set)) RequireUploadable(state, set);
    });

    /// <summary>Whether an upload of <paramref name="set"/> may be opened now.</summary>
    public Refusal? CheckUploadOpen(PsiExchangeState state, PsiSet set) => Check(() => RequireUploadable(state, set));

    /// <summary>
    /// Step 2: <paramref name="set"/> is stored with <paramref name="elements"/> elements (<see cref="Elements"/>; null: sent
    /// empty, the pod's set only, or kkrt's reply from a pod with no records).
    /// </summary>
    public Step CommitUpload(PsiExchangeState state, PsiSet set, long? elements) => Run(state, () =>
    {
        if (Stored(state, set)) return Step.Unchanged(state); // the payload store already refused different bytes
        RequireUploadable(state, set);
        if (rules.Kkrt)
        {
            if (elements is null && set != PsiSet.Reply) throw RefusedException.Invalid($"Only the kkrt reply may be empty; the {Describe(set)} has a fixed size.");
            return CommitKkrt(state, set, elements ?? 0);
        }

        if (elements is null && set != PsiSet.PodSet) throw RefusedException.Invalid($"Only the pod's set may be empty; the {Describe(set)} has a fixed size.");
        var count = elements ?? 0;
        state = set switch
        {
            PsiSet.PodSet => state with { PodSetStored = true, ServerSetSize = count, DoubleBlindedStored = state.DoubleBlindedStored || count == 0 },
            PsiSet.Query => state with { QueryStored = true },
            PsiSet.Reply => state with { ReplyStored = true },
            _ => state with { DoubleBlindedStored = true },
        };
        if (!state.CountedByPod && state.ServerSetSize is not null && state.ReplyStored) state = state with { Phase = PsiPhase.Answered };
        return Step.Accepted(state, [new PsiEvent.SetStored(set, count)]);
    });

    /// <summary>Whether <paramref name="set"/> can be downloaded now, and whether it is empty (nothing to download).</summary>
    public Refusal? CheckDownload(PsiExchangeState state, PsiSet set, out bool empty)
    {
        var isEmpty = false;
        var refusal = Check(() =>
        {
            if (state.Phase is PsiPhase.Completed or PsiPhase.Failed)
                throw RefusedException.WrongPhase($"The session is {state.Phase}; its sets are deleted.{FailureDetail(state)}");
            if (!Stored(state, set)) throw RefusedException.WrongPhase($"The {Describe(set)} has not been stored yet.");
            isEmpty = rules.Kkrt ? set == PsiSet.Reply && state.ServerSetSize == 0 : set switch
            {
                PsiSet.PodSet => state.ServerSetSize == 0,
                PsiSet.Query or PsiSet.Reply => rules.ModellerSetSize == 0,
                _ => state.ServerSetSize == 0,
            };
        });
        empty = isEmpty;
        return refusal;
    }

    /// <summary>Pod-counted cardinality: a plain count is refused; the pod seals it to the modeller (<see cref="ReportSealedCount"/>).</summary>
    public Step ReportCount(PsiExchangeState state, long count) => Run(state, () =>
    {
        RequirePhase(state, PsiPhase.Exchange);
        if (!state.CountedByPod) throw RefusedException.WrongPhase("In this session the modeller counts; the pod reports no count.");
        throw RefusedException.UnsupportedVersion("Since ecdh-oprf-v1 the pod seals its count to the modeller (sealedCount); the service takes no plain count.");
    });

    /// <summary>Pod-counted cardinality: the pod's count (or its refusal to release one) sealed to the modeller's count key; stored as it is.</summary>
    public Step ReportSealedCount(PsiExchangeState state, byte[] sealedCount) => Run(state, () =>
    {
        ArgumentNullException.ThrowIfNull(sealedCount);
        if (state.SealedCount is { } known)
        {
            if (known.AsSpan().SequenceEqual(sealedCount)) return Step.Unchanged(state);
            throw RefusedException.Conflict("The pod already reported another sealed count.");
        }

        RequirePhase(state, PsiPhase.Exchange);
        if (!state.CountedByPod) throw RefusedException.WrongPhase("In this session the modeller counts; the pod reports no count.");
        if (!state.DoubleBlindedStored || !state.QueryStored) throw RefusedException.WrongPhase("The pod counts once the query and the double-blinded set are stored.");
        if (sealedCount.Length != SealedPsiCount.SealedBytes) throw RefusedException.Invalid($"A sealed count is {SealedPsiCount.SealedBytes} bytes.");
        return Step.Accepted(state with { SealedCount = sealedCount, Phase = PsiPhase.Answered }, [new PsiEvent.PodCounted()]);
    });

    /// <summary>Step 3: the modeller finishes, reporting the count it chose to record (or none).</summary>
    public Step Complete(PsiExchangeState state, long? count) => Run(state, () =>
    {
        if (state.Phase == PsiPhase.Completed)
        {
            if (state.ReportedCount == count) return Step.Unchanged(state);
            throw RefusedException.Conflict("The session was already completed with another reported count.");
        }

        RequirePhase(state, PsiPhase.Answered);
        if (count is { } c && (c < 0 || c > rules.ModellerSetSize))
            throw RefusedException.Invalid(rules.Kkrt
                ? $"A kkrt count is over the modeller's distinct records: between 0 and its declared set size {rules.ModellerSetSize}."
                : $"The count must be between 0 and the modeller's set size {rules.ModellerSetSize}.");
        if (state.PodCount is { } podCount && count is { } reported && reported != podCount)
            throw RefusedException.Invalid($"The pod counted {podCount}; a different count cannot be recorded.");
        return Step.Accepted(state with { ReportedCount = count, Deadline = null, Phase = PsiPhase.Completed },
            [new PsiEvent.Completed(count is not null && !state.CountedByPod)]);
    });

    /// <summary>The session is cancelled; refused once it has completed or failed.</summary>
    public Step Cancel(PsiExchangeState state) => Run(state, () =>
    {
        if (state.Phase == PsiPhase.Cancelled) return Step.Unchanged(state);
        if (state.Phase is PsiPhase.Completed or PsiPhase.Failed)
            throw RefusedException.WrongPhase($"The session has already {(state.Phase == PsiPhase.Completed ? "completed" : "failed")}; there is nothing to cancel.");
        return Step.Accepted(state with { Phase = PsiPhase.Cancelled, Deadline = null }, []);
    });

    /// <summary>Whether <paramref name="set"/> is stored (an empty pod set counts as stored).</summary>
    public static bool Stored(PsiExchangeState state, PsiSet set)
    {
        ArgumentNullException.ThrowIfNull(state);
        return set switch
        {
            PsiSet.PodSet => state.PodSetStored || state.ServerSetSize is not null,
            PsiSet.Query => state.QueryStored,
            PsiSet.Reply => state.ReplyStored,
            _ => state.DoubleBlindedStored,
        };
    }

    /// <summary>A set as messages name it.</summary>
    public static string Describe(PsiSet set) => set switch
    {
        PsiSet.PodSet => "pod set",
        PsiSet.Query => "query",
        PsiSet.Reply => "reply",
        _ => "double-blinded set",
    };

    /// <summary>kkrt step 2: the setup, then the query, then the reply (whose length gives the pod's set size); no double-blinded set.</summary>
    private static Step CommitKkrt(PsiExchangeState state, PsiSet set, long elements)
    {
        state = set switch
        {
            PsiSet.PodSet => state with { PodSetStored = true },
            PsiSet.Query => state with { QueryStored = true },
            _ => state with { ReplyStored = true, ServerSetSize = elements, Phase = PsiPhase.Answered },
        };
        return Step.Accepted(state, [new PsiEvent.SetStored(set, elements)]);
    }

    private void RequireUploadable(PsiExchangeState state, PsiSet set)
    {
        RequirePhase(state, PsiPhase.Exchange);
        if (rules.Kkrt)
        {
            switch (set)
            {
                case PsiSet.Query when !Stored(state, PsiSet.PodSet):
                    throw RefusedException.WrongPhase("The kkrt query follows the pod's setup, which is not stored yet.");
                case PsiSet.Reply when !state.QueryStored:
                    throw RefusedException.WrongPhase("The reply follows the modeller's query, which is not stored yet.");
                case PsiSet.DoubleBlinded:
                    throw RefusedException.WrongPhase("A kkrt session takes no double-blinded set.");
            }

            return;
        }

        switch (set)
        {
            case PsiSet.Reply when state.CountedByPod:
                throw RefusedException.WrongPhase("In a pod-counted session the pod sends no reply; it reports the count.");
            case PsiSet.Reply when !state.QueryStored:
                throw RefusedException.WrongPhase("The reply follows the modeller's query, which is not stored yet.");
            case PsiSet.DoubleBlinded when !state.CountedByPod:
                throw RefusedException.WrongPhase("Only pod-counted cardinality sessions take a double-blinded set.");
            case PsiSet.DoubleBlinded when state.ServerSetSize is null:
                throw RefusedException.WrongPhase("The double-blinded set follows the pod's encoded set, which is not stored yet.");
        }
    }

    private static void RequirePhase(PsiExchangeState state, PsiPhase phase)
    {
        if (state.Phase == phase) return;
        throw RefusedException.WrongPhase($"The session is in phase {state.Phase}, not {phase}.{FailureDetail(state)}");
    }

    private static string FailureDetail(PsiExchangeState state) => state.FailureReason is { } reason ? $" It failed: {reason}" : "";

    private static Step Fail(PsiExchangeState state, string reason, string? declined) =>
        Step.Accepted(state with { Phase = PsiPhase.Failed, FailureReason = reason, Deadline = null }, [new PsiEvent.Failed(reason, declined)]);

    private static Step Run(PsiExchangeState state, Func<Step> step) => RefusedException.Guard(state, step);

    private static Refusal? Check(Action check) => RefusedException.Check(check);
}
