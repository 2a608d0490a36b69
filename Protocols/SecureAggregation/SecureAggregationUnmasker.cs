using System.Security.Cryptography;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.SecretSharing;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>
/// The modeller's side: reconstructs self-mask seeds and dropped pods' mask keys, removes all masks, decodes.
/// </summary>
/// <remarks>
/// Given the masked sum z = Σ_{i∈U3} y_i:
/// 1. <see cref="AcceptKeyBundles"/>: verify all bundles (pins, required for every party; signatures over these
///    session parameters) — the mask public keys S_j are needed.
/// 2. <see cref="AcceptUnmaskRequest"/>: record U2 and U3 (the same request the pods answered).
/// 3. <see cref="AcceptResponse"/>: open each survivor's sealed reply (AD binds session, round, sender and the
///    request digest), verify its signature by the survivor's pinned identity (the service, which knows M, could
///    otherwise seal a reply of its own); check it holds exactly one b-share per j ∈ U3 and one key share per j ∈ U2 \ U3, each
///    with x = the responder's index.
/// 4. <see cref="Finish"/> (≥ t responses): b_j = Combine(shares) for j ∈ U3; sk_j = Combine(shares) for
///    j ∈ U2 \ U3, checked against S_j. Then
///    Σ_{i∈U3} encode(x_i) = z − Σ_{i∈U3} PRG(b_i) − Σ_{i∈U3, j∈U2\U3} ±PRG(s_ij), with + when j &gt; i
///    (i added the mask) and − when j &lt; i, where s_ij = HKDF(X25519(sk_j, S_i), …).
/// 5. Decode; sums, means (÷ |U3|); weighted means (Σ w·x ÷ Σ w) through WeightedMeanLayout.
/// The decrypted shares are wiped once <see cref="Finish"/> succeeds (it answers once) or on <see cref="Dispose"/>.
/// </remarks>
public sealed class SecureAggregationUnmasker : IDisposable
{
    private readonly SessionParameters parameters;
    private readonly X25519KeyPair modellerKey;
    private readonly IReadOnlyDictionary<int, string> pins;
    private readonly Dictionary<int, List<(int Owner, byte Kind, byte[] Share)>> responses = [];
    private SortedDictionary<int, KeyBundle>? bundles;
    private UnmaskRequest? request;
    private SortedSet<int>? senders;
    private SortedSet<int>? survivors;
    private bool finished;

    /// <summary>Creates the unmasker with the modeller's session key (whose public half is in the parameters) and every pod's identity pin.</summary>
    /// <param name="parameters">The session parameters; bundles must be signed over exactly these.</param>
    /// <param name="modellerKey">The modeller's X25519 session key pair.</param>
    /// <param name="pinnedIdentities">Fingerprint per party index; a bundle from a party missing here is refused.</param>
    public SecureAggregationUnmasker(SessionParameters parameters, X25519KeyPair modellerKey, IReadOnlyDictionary<int, string> pinnedIdentities)
    {
        this.parameters = parameters ?? throw new ArgumentNullException(nameof(parameters));
        this.modellerKey = modellerKey ?? throw new ArgumentNullException(nameof(modellerKey));
        pins = pinnedIdentities ?? throw new ArgumentNullException(nameof(pinnedIdentities));
        if (!modellerKey.PublicKey.AsSpan().SequenceEqual(parameters.ModellerPublicKey))
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "the modeller key does not match the session's modeller public key");
        }
    }

    /// <summary>Number of valid responses accepted so far.</summary>
    public int ResponseCount => responses.Count;

    /// <summary>True once at least t responses are in.</summary>
    public bool CanFinish => !finished && survivors is not null && responses.Count >= parameters.Threshold;

    /// <summary>Step 1: the key bundles of the session.</summary>
    public void AcceptKeyBundles(IReadOnlyList<KeyBundle> allBundles)
    {
        if (bundles is not null)
        {
            throw new MessageRejectedException(ProtocolError.Duplicate, "key bundles were already accepted");
        }

        bundles = SessionRules.ValidateBundles(parameters, allBundles, pins);
    }

    /// <summary>Step 2: the service's survivor list (U2, U3).</summary>
    public void AcceptUnmaskRequest(UnmaskRequest unmaskRequest)
    {
        if (bundles is null)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, "key bundles must be accepted before the unmask request");
        }

        if (request is not null)
        {
            _ = unmaskRequest.Digest().AsSpan().SequenceEqual(request.Digest())
                ? 0
                : throw new MessageRejectedException(ProtocolError.Contradictory, "a different unmask request was already accepted");
            return;
        }

        (senders, survivors) = SessionRules.ValidateRequest(parameters, unmaskRequest, bundles.Keys);
        request = unmaskRequest;
    }

    /// <summary>Step 3: one survivor's sealed reply.</summary>
    public void AcceptResponse(UnmaskResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (request is null)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, "the unmask request must be accepted before responses");
        }

        SessionRules.CheckSession(parameters, response.SessionId, "unmask response");
        if (!survivors!.Contains(response.Party))
        {
            throw new MessageRejectedException(ProtocolError.UnknownParty, $"party {response.Party} is not a survivor");
        }

        if (responses.ContainsKey(response.Party))
        {
            throw new MessageRejectedException(ProtocolError.Duplicate, $"party {response.Party} already responded");
        }

        if (finished)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, "the aggregate was already unmasked");
        }

        var plaintext = SealedBox.Open(modellerKey, response.Ciphertext, SessionRules.UnmaskAssociatedData(parameters, response.Party, request));
        List<(int Owner, byte Kind, byte[] Share)> entries;
        try
        {
            entries = SessionRules.DecodeResponse(parameters, request, plaintext, response.Party, bundles![response.Party].IdentityKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }

        try
        {
            CheckEntries(response.Party, entries);
        }
        catch
        {
            SessionRules.Wipe(entries);
            throw;
        }

        responses[response.Party] = entries;
    }

    /// <summary>Step 4–5: removes the masks from the masked sum and decodes the aggregate; answers once.</summary>
    public AggregateResult Finish(ReadOnlySpan<ulong> maskedSum)
    {
        if (finished)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, "the aggregate was already unmasked and the shares wiped");
        }

        if (!CanFinish)
        {
            throw new ProtocolException(ProtocolError.InsufficientShares, $"{responses.Count} responses, threshold is {parameters.Threshold}");
        }

        if (maskedSum.Length != parameters.Layout.Length || !parameters.Field.AreCanonical(maskedSum))
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"masked sum must have {parameters.Layout.Length} canonical elements");
        }

        var terms = new List<MaskTerm>();
        try
        {
            foreach (var i in survivors!)
            {
                var seed = Reconstruct(i);
                terms.Add(new MaskTerm(seed, MaskContext.ForSelfMask(parameters.SessionId, parameters.Round, i), Subtract: true));
            }

            foreach (var j in senders!.Except(survivors))
            {
                var secret = Reconstruct(j);
                using var droppedKey = X25519KeyPair.FromPrivateKey(secret);
                CryptographicOperations.ZeroMemory(secret);
                if (!CryptographicOperations.FixedTimeEquals(droppedKey.PublicKey, bundles![j].MaskKey))
                {
                    throw new CryptographicCheckException(ProtocolError.InconsistentShares, $"reconstructed mask key of dropped party {j} does not match its published key");
                }

                foreach (var i in survivors)
                {
                    var seed = SessionRules.PairSeed(parameters, droppedKey, j, bundles[i]);

                    // Survivor i added PRG(s_ij) when j > i and subtracted it when j < i: undo that.
                    terms.Add(new MaskTerm(seed, MaskContext.ForPairMask(parameters.SessionId, parameters.Round, i, j), Subtract: j > i));
                }
            }

            var sum = maskedSum.ToArray();
            VectorMasker.Apply(parameters.Field, sum, terms);
            var result = new AggregateResult(parameters.Codec, sum, [.. survivors]);

            // Answer once: the shares (self-mask seeds, dropped pods' key shares) have served their purpose.
            finished = true;
            WipeResponses();
            return result;
        }
        finally
        {
            foreach (var term in terms)
            {
                CryptographicOperations.ZeroMemory(term.Seed);
            }
        }
    }

    /// <summary>Wipes every decrypted share still held.</summary>
    public void Dispose() => WipeResponses();

    private void CheckEntries(int party, List<(int Owner, byte Kind, byte[] Share)> entries)
    {
        var owners = new HashSet<int>();
        foreach (var (owner, kind, _) in entries)
        {
            var wantKind = survivors!.Contains(owner) ? SessionRules.SelfMaskShareKind : SessionRules.MaskKeyShareKind;
            if (!senders!.Contains(owner) || kind != wantKind || !owners.Add(owner))
            {
                throw new MessageRejectedException(ProtocolError.Contradictory, $"response of party {party} holds an unexpected share (owner {owner}, kind {kind})");
            }
        }

        if (owners.Count != senders!.Count)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"response of party {party} holds {owners.Count} shares, expected {senders.Count}");
        }
    }

    private void WipeResponses()
    {
        foreach (var entries in responses.Values)
        {
            SessionRules.Wipe(entries);
        }
    }

    private byte[] Reconstruct(int owner)
    {
        var shares = new List<ShamirShare>(responses.Count);
        foreach (var (holder, entries) in responses)
        {
            var entry = entries.Find(e => e.Owner == owner);
            shares.Add(new ShamirShare((byte)holder, entry.Share));
        }

        return ShamirSecretSharing.Combine(shares, parameters.Threshold);
    }
}
