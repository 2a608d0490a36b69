using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecretSharing;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>
/// The pod's side of secure aggregation (Bonawitz et al. 2017, semi-honest, threshold t) as a state machine.
/// </summary>
/// <remarks>
/// Party i of n, over Z_q, threshold t:
/// 1. <see cref="CreateKeyBundle"/>: draw X25519 keys (c_i for sealing, s_i for mask agreement) and sign
///    (session, round, i, C_i, S_i, SHA-256 of the session parameters) with the Ed25519 identity key.
/// 2. <see cref="CreateShareEnvelopes"/>: verify every bundle (pinned fingerprint — every party must be pinned —
///    and a signature under this party's own parameters); U1 = bundle senders, |U1| ≥ t. Draw the self-mask
///    seed b_i; Shamir-split b_i and sk(s_i) t-of-|U1| with x = party index; encrypt holder j's two shares with
///    AES-256-GCM under K_ij = HKDF(X25519(c_i, C_j), session, round, i, j, C_i, C_j) and AD (session, round, i, j), so
///    only i (or j) can have made the envelope.
/// 3. <see cref="CreateMaskedInput(IReadOnlyList{ShareEnvelope}, ReadOnlySpan{double})"/>: open the envelopes
///    addressed to i — one that does not authenticate to its named sender stops the party
///    (<see cref="ProtocolError.SenderNotAuthenticated"/>, no masked input) —; U2 = senders ∪ {i}, |U2| ≥ t. With s_ij = HKDF(X25519(s_i, S_j), session, {i, j}):
///    y_i = encode(x_i) + PRG(b_i) + Σ_{j∈U2, j&gt;i} PRG(s_ij) − Σ_{j∈U2, j&lt;i} PRG(s_ij) (mod q).
///    Afterwards c_i is wiped. s_i and b_i are kept until <see cref="ConfirmMaskedInputAccepted"/> (or a valid unmask
///    request) so that a retry — in this process or after <see cref="ImportState"/> — recomputes the identical vector
///    for the same envelopes and the same input (a different input is refused: it would reveal the difference).
/// 4. <see cref="CreateUnmaskResponse"/>: for the service's (U2, U3) with U3 ⊆ U2, |U3| ≥ t, i ∈ U3, return —
///    signed with the identity key and sealed to the modeller — shares of b_j for j ∈ U3 and of sk(s_j) for j ∈ U2 \ U3. Never both kinds for
///    one pod: a later request with a different list is refused (a retry of the same list gets the same reply).
/// Secrets are wiped as soon as they are no longer needed (the held shares once step 4 is answered). The state can be
/// saved with <see cref="ExportState"/> and restored with <see cref="ImportState"/> to survive a restart.
/// Not thread-safe; one instance per party per round.
/// </remarks>
public sealed partial class SecureAggregationParty : IDisposable
{
    private readonly SessionParameters parameters;
    private readonly Ed25519KeyPair identity;
    private readonly IRandomSource random;
    private readonly IReadOnlyDictionary<int, string> pins;
    private readonly Dictionary<int, (byte[] SelfMask, byte[] MaskKey)> heldShares = [];
    private readonly HashSet<int> revealedSelfMask = [];
    private readonly HashSet<int> revealedMaskKey = [];
    private X25519KeyPair? sealKey;
    private X25519KeyPair? maskKey;
    private KeyBundle? bundle;
    private SortedDictionary<int, KeyBundle>? bundles;
    private IReadOnlyList<ShareEnvelope>? sentEnvelopes;
    private byte[]? selfMaskSeed;
    private byte[]? inputTag;
    private bool disposed;
    private SortedSet<int>? shareSenders;
    private UnmaskRequest? answeredRequest;
    private UnmaskResponse? answer;

    /// <summary>Creates party <paramref name="partyIndex"/> (1..n) with its identity key, randomness and the identity pins of all parties.</summary>
    /// <param name="parameters">The session parameters; their digest is signed into the key bundle.</param>
    /// <param name="partyIndex">This party's index, 1..n.</param>
    /// <param name="identity">This party's long-term Ed25519 identity.</param>
    /// <param name="random">Randomness for keys, seeds, shares and sealing.</param>
    /// <param name="pinnedIdentities">Fingerprint per party index; a bundle from a party missing here is refused.</param>
    public SecureAggregationParty(SessionParameters parameters, int partyIndex, Ed25519KeyPair identity, IRandomSource random, IReadOnlyDictionary<int, string> pinnedIdentities)
    {
        this.parameters = parameters ?? throw new ArgumentNullException(nameof(parameters));
        this.identity = identity ?? throw new ArgumentNullException(nameof(identity));
        this.random = random ?? throw new ArgumentNullException(nameof(random));
        pins = pinnedIdentities ?? throw new ArgumentNullException(nameof(pinnedIdentities));
        SessionRules.CheckParty(parameters, partyIndex);

        // Refused before step 1: unmask responses sealed to a low-order M would be open to anyone.
        X25519KeyPair.CheckPeerKey(parameters.ModellerPublicKey, "the modeller's session key M");
        Party = partyIndex;
    }

    /// <summary>Where the party stands in the protocol.</summary>
    public enum Step
    {
        /// <summary>Nothing sent yet.</summary>
        Created,

        /// <summary>Key bundle published.</summary>
        KeysPublished,

        /// <summary>Share envelopes sent.</summary>
        SharesSent,

        /// <summary>Masked input produced.</summary>
        MaskedInputSent,

        /// <summary>Unmasking response produced.</summary>
        Responded,
    }

    /// <summary>This party's index.</summary>
    public int Party { get; }

    /// <summary>The current step.</summary>
    public Step State { get; private set; } = Step.Created;

    /// <summary>The key bundle this party published (step 1), or null before <see cref="CreateKeyBundle"/>; a resumed agent re-sends it.</summary>
    public KeyBundle? PublishedBundle => bundle;

    /// <summary>The share envelopes this party sent (step 2), or null before <see cref="CreateShareEnvelopes"/>; a resumed agent re-sends exactly these.</summary>
    public IReadOnlyList<ShareEnvelope>? SentEnvelopes => sentEnvelopes;

    /// <summary>
    /// True once the masked input is confirmed (<see cref="ConfirmMaskedInputAccepted"/> or a valid unmask request): b_i and s_i
    /// are wiped and the masked vector can no longer be recomputed. False in <see cref="Step.MaskedInputSent"/> until then.
    /// </summary>
    public bool MaskedInputConfirmed => State >= Step.MaskedInputSent && selfMaskSeed is null;

    /// <summary>Step 1: the signed key bundle (the same bundle again on retry).</summary>
    public KeyBundle CreateKeyBundle()
    {
        if (bundle is not null)
        {
            return bundle;
        }

        sealKey = X25519KeyPair.Generate(random);
        maskKey = X25519KeyPair.Generate(random);
        var signature = identity.Sign(KeyBundle.SignedBytes(parameters, Party, sealKey.PublicKey, maskKey.PublicKey));
        bundle = new KeyBundle(parameters.SessionId, Party, sealKey.PublicKey, maskKey.PublicKey, identity.PublicKey, signature);
        State = Step.KeysPublished;
        return bundle;
    }

    /// <summary>Step 2: checks all key bundles and returns one sealed share envelope per other party.</summary>
    public IReadOnlyList<ShareEnvelope> CreateShareEnvelopes(IReadOnlyList<KeyBundle> allBundles)
    {
        if (State == Step.SharesSent && sentEnvelopes is not null)
        {
            var again = SessionRules.ValidateBundles(parameters, allBundles, pins);
            return again.Keys.SequenceEqual(bundles!.Keys) && again.All(kv => ReferenceEquals(kv.Value, bundles[kv.Key]) || kv.Value.ToBytes().AsSpan().SequenceEqual(bundles[kv.Key].ToBytes()))
                ? sentEnvelopes
                : throw new MessageRejectedException(ProtocolError.Contradictory, "a different set of key bundles was already answered");
        }

        RequireState(Step.KeysPublished, "share envelopes");
        var validated = SessionRules.ValidateBundles(parameters, allBundles, pins);
        if (!validated.TryGetValue(Party, out var own) || !own.ToBytes().AsSpan().SequenceEqual(bundle!.ToBytes()))
        {
            throw new MessageRejectedException(ProtocolError.Contradictory, $"the bundle set does not contain party {Party}'s own bundle unchanged");
        }

        var holders = validated.Keys.ToArray();
        var seed = random.NextBytes(32);
        var selfShares = ShamirSecretSharing.Split(seed, parameters.Threshold, holders, random);
        var keyShares = ShamirSecretSharing.Split(maskKey!.PrivateKey, parameters.Threshold, holders, random);
        var envelopes = new List<ShareEnvelope>(holders.Length - 1);
        var ownIndex = -1;
        try
        {
            for (var h = 0; h < holders.Length; h++)
            {
                var holder = holders[h];
                if (holder == Party)
                {
                    ownIndex = h;
                    continue;
                }

                var plaintext = SessionRules.EncodeSharePair(Party, holder, (byte)holder, selfShares[h].Value, keyShares[h].Value);
                var key = SessionRules.EnvelopeKey(parameters, sealKey!, Party, holder, sealKey!.PublicKey, validated[holder].SealKey);
                try
                {
                    var box = PairwiseBox.Seal(key, plaintext, SessionRules.ShareAssociatedData(parameters, Party, holder), random);
                    envelopes.Add(new ShareEnvelope(parameters.SessionId, Party, holder, box));
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(plaintext);
                    CryptographicOperations.ZeroMemory(key);
                }
            }
        }
        catch
        {
            // Nothing was sent: forget this draw of b_i and all its shares; a retry starts afresh.
            CryptographicOperations.ZeroMemory(seed);
            ownIndex = -1;
            throw;
        }
        finally
        {
            for (var h = 0; h < holders.Length; h++)
            {
                if (h != ownIndex)
                {
                    CryptographicOperations.ZeroMemory(selfShares[h].Value);
                    CryptographicOperations.ZeroMemory(keyShares[h].Value);
                }
            }
        }

        selfMaskSeed = seed;
        heldShares[Party] = (selfShares[ownIndex].Value, keyShares[ownIndex].Value);
        bundles = validated;
        sentEnvelopes = envelopes;
        State = Step.SharesSent;
        return envelopes;
    }

    /// <summary>Step 3: opens the received envelopes, encodes <paramref name="values"/> and masks them.</summary>
    /// <remarks>
    /// Callable again while <see cref="Step.MaskedInputSent"/> and not <see cref="MaskedInputConfirmed"/>: with envelopes from the
    /// same senders and the same input it returns the identical vector; other senders or another input are <see cref="ProtocolError.Contradictory"/>.
    /// </remarks>
    public ulong[] CreateMaskedInput(IReadOnlyList<ShareEnvelope> received, ReadOnlySpan<double> values)
    {
        RequireMaskedInputState();
        var encoded = parameters.Codec.Encode(values);
        try
        {
            return CreateMaskedInputFromEncoded(received, encoded);
        }
        finally
        {
            Array.Clear(encoded);
        }
    }

    /// <summary>Step 3 for an already encoded vector (e.g. exact integer counts from <see cref="Encoding.FixedPointCodec.EncodeInteger"/>).</summary>
    public ulong[] CreateMaskedInputFromEncoded(IReadOnlyList<ShareEnvelope> received, ulong[] encoded)
    {
        ArgumentNullException.ThrowIfNull(received);
        ArgumentNullException.ThrowIfNull(encoded);
        RequireMaskedInputState();
        parameters.Codec.CheckEncoded(encoded);
        if (State == Step.MaskedInputSent)
        {
            return RecomputeMaskedInput(received, encoded);
        }

        var opened = new Dictionary<int, (byte[], byte[])>();
        try
        {
            OpenEnvelopes(received, opened);
        }
        catch
        {
            foreach (var (selfShare, keyShare) in opened.Values)
            {
                CryptographicOperations.ZeroMemory(selfShare);
                CryptographicOperations.ZeroMemory(keyShare);
            }

            throw;
        }

        var senders = new SortedSet<int>(opened.Keys) { Party };
        ulong[] masked;
        byte[] tag;
        try
        {
            masked = Mask(encoded, senders);
            tag = InputTag(selfMaskSeed!, encoded);
        }
        catch
        {
            foreach (var (selfShare, keyShare) in opened.Values)
            {
                CryptographicOperations.ZeroMemory(selfShare);
                CryptographicOperations.ZeroMemory(keyShare);
            }

            throw;
        }

        foreach (var (from, shares) in opened)
        {
            heldShares[from] = shares;
        }

        // The seal key only opened the envelopes. s_i and b_i stay until the masked input is confirmed, so that the
        // identical vector can be recomputed if its upload is lost (ConfirmMaskedInputAccepted wipes them).
        sealKey!.Dispose();
        sealKey = null;
        inputTag = tag;
        shareSenders = senders;
        State = Step.MaskedInputSent;
        return masked;
    }

    /// <summary>
    /// Tells the party the service holds its complete masked input: wipes b_i and s_i (afterwards the vector cannot be recomputed).
    /// Idempotent; a valid <see cref="CreateUnmaskResponse"/> request implies it.
    /// </summary>
    public void ConfirmMaskedInputAccepted()
    {
        if (State < Step.MaskedInputSent)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, $"party {Party} has no masked input to confirm in state {State}");
        }

        WipeMaskingSecrets();
    }

    private ulong[] RecomputeMaskedInput(IReadOnlyList<ShareEnvelope> received, ulong[] encoded)
    {
        // c_i is gone, so the envelopes are not opened again: the vector depends only on who sent shares (U2).
        var senders = new SortedSet<int> { Party };
        foreach (var envelope in received)
        {
            SessionRules.CheckSession(parameters, envelope.SessionId, "share envelope");
            if (envelope.To != Party)
            {
                throw new MessageRejectedException(ProtocolError.UnknownParty, $"envelope addressed to {envelope.To} delivered to party {Party}");
            }

            if (envelope.From == Party || !bundles!.ContainsKey(envelope.From))
            {
                throw new MessageRejectedException(ProtocolError.UnknownParty, $"envelope from party {envelope.From}, which published no key bundle");
            }

            if (!senders.Add(envelope.From))
            {
                throw new MessageRejectedException(ProtocolError.Duplicate, $"two envelopes from party {envelope.From}");
            }
        }

        if (!senders.SetEquals(shareSenders!))
        {
            throw new MessageRejectedException(ProtocolError.Contradictory, $"envelopes from [{string.Join(",", senders)}] differ from those party {Party} already masked with [{string.Join(",", shareSenders!)}]");
        }

        var tag = InputTag(selfMaskSeed!, encoded);
        try
        {
            if (!CryptographicOperations.FixedTimeEquals(tag, inputTag))
            {
                throw new MessageRejectedException(ProtocolError.Contradictory, $"party {Party} already masked a different input; masking another with the same masks would reveal the difference");
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(tag);
        }

        return Mask(encoded, senders);
    }

    /// <summary>y = encoded + PRG(b_i) ± PRG(s_ij) for j ∈ senders \ {i}; deterministic in (b_i, s_i, bundles, senders, encoded).</summary>
    private ulong[] Mask(ulong[] encoded, SortedSet<int> senders)
    {
        var terms = new List<MaskTerm>(senders.Count) { new(selfMaskSeed!, MaskContext.ForSelfMask(parameters.SessionId, parameters.Round, Party), false) };
        var masked = (ulong[])encoded.Clone();
        try
        {
            foreach (var j in senders)
            {
                if (j != Party)
                {
                    var seed = SessionRules.PairSeed(parameters, maskKey!, Party, bundles![j]);
                    terms.Add(new MaskTerm(seed, MaskContext.ForPairMask(parameters.SessionId, parameters.Round, Party, j), Subtract: j < Party));
                }
            }

            VectorMasker.Apply(parameters.Field, masked, terms);
            return masked;
        }
        catch
        {
            Array.Clear(masked);
            throw;
        }
        finally
        {
            // Pairwise seeds are recomputable; terms[0].Seed is b_i itself and must survive.
            foreach (var term in terms.Skip(1))
            {
                CryptographicOperations.ZeroMemory(term.Seed);
            }
        }
    }

    /// <summary>HMAC-SHA-256 keyed with b_i over "smpc/secagg/input-tag/v1" ‖ LE64 elements: binds a recomputation to the same input.</summary>
    private static byte[] InputTag(byte[] selfMask, ulong[] encoded)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, selfMask);
        hmac.AppendData("smpc/secagg/input-tag/v1"u8);
        if (BitConverter.IsLittleEndian)
        {
            // The array's bytes already are the LE64 elements: hash them in place, without a copy (in slices, so
            // the byte length of one span cannot overflow an int).
            for (var offset = 0; offset < encoded.Length; offset += 1 << 20)
            {
                hmac.AppendData(MemoryMarshal.AsBytes(encoded.AsSpan(offset, Math.Min(1 << 20, encoded.Length - offset))));
            }

            return hmac.GetHashAndReset();
        }

        var buffer = new byte[8 * 512];
        try
        {
            for (var offset = 0; offset < encoded.Length; offset += 512)
            {
                var count = Math.Min(512, encoded.Length - offset);
                for (var k = 0; k < count; k++)
                {
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(8 * k), encoded[offset + k]);
                }

                hmac.AppendData(buffer, 0, 8 * count);
            }

            return hmac.GetHashAndReset();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer);
        }
    }

    private void WipeMaskingSecrets()
    {
        if (selfMaskSeed is not null)
        {
            CryptographicOperations.ZeroMemory(selfMaskSeed);
            selfMaskSeed = null;
        }

        if (inputTag is not null)
        {
            CryptographicOperations.ZeroMemory(inputTag);
            inputTag = null;
        }

        maskKey?.Dispose();
        maskKey = null;
    }

    private void OpenEnvelopes(IReadOnlyList<ShareEnvelope> received, Dictionary<int, (byte[], byte[])> opened)
    {
        foreach (var envelope in received)
        {
            SessionRules.CheckSession(parameters, envelope.SessionId, "share envelope");
            if (envelope.To != Party)
            {
                throw new MessageRejectedException(ProtocolError.UnknownParty, $"envelope addressed to {envelope.To} delivered to party {Party}");
            }

            if (envelope.From == Party || !bundles!.ContainsKey(envelope.From))
            {
                throw new MessageRejectedException(ProtocolError.UnknownParty, $"envelope from party {envelope.From}, which published no key bundle");
            }

            if (opened.ContainsKey(envelope.From))
            {
                throw new MessageRejectedException(ProtocolError.Duplicate, $"two envelopes from party {envelope.From}");
            }

            // Authenticated to the sender: only c_from or c_i derive this key, so the service cannot make an envelope that
            // opens. One that does not is refused outright — the party never masks with a share it could not authenticate.
            var key = SessionRules.EnvelopeKey(parameters, sealKey!, envelope.From, Party, bundles[envelope.From].SealKey, sealKey!.PublicKey);
            byte[] plaintext;
            try
            {
                plaintext = PairwiseBox.Open(key, envelope.Ciphertext, SessionRules.ShareAssociatedData(parameters, envelope.From, Party), $"share envelope from party {envelope.From} to party {Party}");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }

            try
            {
                opened[envelope.From] = SessionRules.DecodeSharePair(plaintext, envelope.From, Party);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }

        if (opened.Count + 1 < parameters.Threshold)
        {
            throw new ProtocolException(ProtocolError.InsufficientParties, $"shares from {opened.Count + 1} parties (including self), threshold is {parameters.Threshold}");
        }
    }

    /// <summary>Step 4: shares for the modeller; refuses contradictions and any request revealing both kinds for one pod.</summary>
    public UnmaskResponse CreateUnmaskResponse(UnmaskRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (State == Step.Responded)
        {
            return request.Digest().AsSpan().SequenceEqual(answeredRequest!.Digest())
                ? answer!
                : throw new MessageRejectedException(ProtocolError.Contradictory, "a different survivor list was already answered; refusing to contradict it");
        }

        RequireState(Step.MaskedInputSent, "unmask response");
        var (senders, survivors) = SessionRules.ValidateRequest(parameters, request, bundles!.Keys);
        if (!senders.SetEquals(shareSenders!))
        {
            throw new MessageRejectedException(ProtocolError.Contradictory, $"request's share senders [{string.Join(",", senders)}] differ from the envelopes party {Party} received [{string.Join(",", shareSenders!)}]");
        }

        // A valid request means the service has fixed U3: no masked input of this party can be accepted any more.
        WipeMaskingSecrets();

        if (!survivors.Contains(Party))
        {
            throw new MessageRejectedException(ProtocolError.UnknownParty, $"party {Party} is not a survivor and is not asked to respond");
        }

        var entries = new List<(int, byte, byte[])>();
        foreach (var j in senders)
        {
            var isSurvivor = survivors.Contains(j);
            if ((isSurvivor && revealedMaskKey.Contains(j)) || (!isSurvivor && revealedSelfMask.Contains(j)))
            {
                throw new ProtocolException(ProtocolError.DisclosureRefused, $"refusing to reveal both the self-mask and the mask-key share of party {j}");
            }

            var (selfShare, keyShare) = heldShares[j];
            entries.Add(isSurvivor ? (j, SessionRules.SelfMaskShareKind, selfShare) : (j, SessionRules.MaskKeyShareKind, keyShare));
        }

        var plaintext = SessionRules.EncodeResponse(parameters, request, identity, Party, entries);
        var box = SealedBox.Seal(parameters.ModellerPublicKey, plaintext, SessionRules.UnmaskAssociatedData(parameters, Party, request), random);
        CryptographicOperations.ZeroMemory(plaintext);
        foreach (var j in senders)
        {
            _ = survivors.Contains(j) ? revealedSelfMask.Add(j) : revealedMaskKey.Add(j);
        }

        answeredRequest = request;
        answer = new UnmaskResponse(parameters.SessionId, Party, box);
        State = Step.Responded;

        // Only the stored answer is ever returned again: the held shares are no longer needed.
        foreach (var (selfShare, keyShare) in heldShares.Values)
        {
            CryptographicOperations.ZeroMemory(selfShare);
            CryptographicOperations.ZeroMemory(keyShare);
        }

        heldShares.Clear();
        return answer;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        disposed = true;
        sealKey?.Dispose();
        WipeMaskingSecrets();

        foreach (var (selfShare, keyShare) in heldShares.Values)
        {
            CryptographicOperations.ZeroMemory(selfShare);
            CryptographicOperations.ZeroMemory(keyShare);
        }
    }

    private void RequireMaskedInputState()
    {
        if (State != Step.MaskedInputSent || selfMaskSeed is null)
        {
            RequireState(Step.SharesSent, "masked input");
        }
    }

    private void RequireState(Step expected, string what)
    {
        if (State != expected)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, $"party {Party} cannot produce the {what} in state {State} (expected {expected})");
        }
    }
}
