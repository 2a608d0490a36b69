using System.Security.Cryptography;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>Saving and restoring a party's state so that a restarted pod agent can finish the session.</summary>
public sealed partial class SecureAggregationParty
{
    // 2: share envelopes are pairwise-authenticated (PairwiseBox) and unmask responses signed; a version-1 state holds
    // envelopes and an answer in the old, unauthenticated formats, which upgraded peers and modellers refuse.
    private const byte StateVersion = 2;
    private const int MacSize = 32;
    private const int SecretSize = 32;

    // Sections of the state blob, written in this order, each present iff its bit is set (docs/protocols/secure-aggregation.md).
    private const uint OwnBundleSection = 0x001;
    private const uint SealKeySection = 0x002;
    private const uint MaskKeySection = 0x004;
    private const uint PeersSection = 0x008;
    private const uint SelfMaskSection = 0x010;
    private const uint InputTagSection = 0x020;
    private const uint SendersSection = 0x040;
    private const uint SharesSection = 0x080;
    private const uint RevealedSection = 0x100;
    private const uint AnswerSection = 0x200;

    private static readonly byte[] StateMagic = "smpc/secagg/party-state"u8.ToArray();
    private static readonly byte[] StateMacSalt = "smpc/secagg/party-state/mac/v1"u8.ToArray();

    /// <summary>
    /// Serialises everything this party needs to continue from <see cref="State"/>; restore it with <see cref="ImportState"/>.
    /// </summary>
    /// <remarks>
    /// <para><b>The result contains secrets</b> (session private keys, the self-mask seed b_i, the Shamir shares held for
    /// other parties) in the clear. Store it only on the pod's local disk with owner-only permissions (0600, in a 0700
    /// directory), replace it atomically (write a temporary file, fsync, rename), never log or upload it, delete it when
    /// the session ends, and zero the returned array once written.</para>
    /// <para>Secrets wiped by a step are not in a state exported after that step: c_i is absent from
    /// <see cref="Step.MaskedInputSent"/> on, s_i and b_i once <see cref="MaskedInputConfirmed"/>, the held shares once
    /// <see cref="Step.Responded"/>.</para>
    /// <para>Persist the state <i>before</i> sending the message a step produced: steps 1, 2 and 4 draw fresh randomness,
    /// so a step redone from an older state would produce a different message, which the service refuses as a conflict.</para>
    /// <para>The blob is authenticated with HMAC-SHA-256 under a key derived from the identity's private key, so it cannot
    /// be altered (e.g. to forget an answered request) without that key.</para>
    /// </remarks>
    public byte[] ExportState()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var sections = CurrentSections();
        var w = new WireWriter(1024);
        var macKey = StateMacKey(parameters, Party, identity);
        try
        {
            w.Bytes(StateMagic).Byte(StateVersion).String(parameters.SessionId).Bytes(parameters.Digest()).Int32(Party)
                .Bytes(identity.PublicKey).Byte((byte)State).UInt32(sections);
            if ((sections & OwnBundleSection) != 0)
            {
                w.LengthPrefixed(bundle!.ToBytes());
            }

            if ((sections & SealKeySection) != 0)
            {
                w.Bytes(sealKey!.PrivateKey);
            }

            if ((sections & MaskKeySection) != 0)
            {
                w.Bytes(maskKey!.PrivateKey);
            }

            if ((sections & PeersSection) != 0)
            {
                w.UInt32((uint)bundles!.Count);
                foreach (var b in bundles.Values)
                {
                    w.LengthPrefixed(b.ToBytes());
                }

                w.UInt32((uint)sentEnvelopes!.Count);
                foreach (var e in sentEnvelopes)
                {
                    w.LengthPrefixed(e.ToBytes());
                }
            }

            if ((sections & SelfMaskSection) != 0)
            {
                w.Bytes(selfMaskSeed);
            }

            if ((sections & InputTagSection) != 0)
            {
                w.Bytes(inputTag);
            }

            if ((sections & SendersSection) != 0)
            {
                w.Parties(shareSenders!);
            }

            if ((sections & SharesSection) != 0)
            {
                w.UInt32((uint)heldShares.Count);
                foreach (var owner in heldShares.Keys.Order())
                {
                    var (selfShare, keyShare) = heldShares[owner];
                    w.Int32(owner).Bytes(selfShare).Bytes(keyShare);
                }
            }

            if ((sections & RevealedSection) != 0)
            {
                w.Parties([.. revealedSelfMask.Order()]).Parties([.. revealedMaskKey.Order()]);
            }

            if ((sections & AnswerSection) != 0)
            {
                w.LengthPrefixed(answeredRequest!.ToBytes()).LengthPrefixed(answer!.ToBytes());
            }

            Span<byte> mac = stackalloc byte[MacSize];
            HMACSHA256.HashData(macKey, w.Written, mac);
            w.Bytes(mac);
            return w.ToArray();
        }
        finally
        {
            w.Wipe();
            CryptographicOperations.ZeroMemory(macKey);
        }
    }

    /// <summary>
    /// Restores a party saved by <see cref="ExportState"/>: same <see cref="State"/>, same answers to retried steps, and it
    /// continues with the next step.
    /// </summary>
    /// <param name="parameters">The session parameters; must be exactly those the state was saved under (digest-bound).</param>
    /// <param name="partyIndex">This party's index; must match the state.</param>
    /// <param name="identity">This party's identity; must be the key the state was saved with (it also keys the state's MAC).</param>
    /// <param name="random">Randomness for the steps still to come.</param>
    /// <param name="pinnedIdentities">Identity pins; the stored peer bundles are checked against them again.</param>
    /// <param name="state">The exported state.</param>
    /// <exception cref="ProtocolException">
    /// <see cref="ProtocolError.Malformed"/> for a truncated, corrupted or tampered state, another format version, another
    /// session or other parameters; <see cref="ProtocolError.UnknownParty"/> for another party's state;
    /// <see cref="ProtocolError.IdentityMismatch"/> for a state saved with another identity key.
    /// </exception>
    public static SecureAggregationParty ImportState(
        SessionParameters parameters,
        int partyIndex,
        Ed25519KeyPair identity,
        IRandomSource random,
        IReadOnlyDictionary<int, string> pinnedIdentities,
        ReadOnlySpan<byte> state)
    {
        var party = new SecureAggregationParty(parameters, partyIndex, identity, random, pinnedIdentities);
        try
        {
            party.Restore(state);
            return party;
        }
        catch
        {
            party.Dispose();
            throw;
        }
    }

    private static byte[] StateMacKey(SessionParameters parameters, int party, Ed25519KeyPair identity)
    {
        var seed = identity.ExportPrivateKey();
        try
        {
            var info = new WireWriter().Bytes(parameters.Digest()).Int32(party).ToArray();
            return Hkdf.DeriveKey(seed, StateMacSalt, info, MacSize);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    private static uint ExpectedSections(Step step, bool maskingSecretsHeld) => step switch
    {
        Step.Created => 0,
        Step.KeysPublished => OwnBundleSection | SealKeySection | MaskKeySection,
        Step.SharesSent => OwnBundleSection | SealKeySection | MaskKeySection | PeersSection | SelfMaskSection | SharesSection,
        Step.MaskedInputSent when maskingSecretsHeld =>
            OwnBundleSection | MaskKeySection | PeersSection | SelfMaskSection | InputTagSection | SendersSection | SharesSection | RevealedSection,
        Step.MaskedInputSent => OwnBundleSection | PeersSection | SendersSection | SharesSection | RevealedSection,
        _ => OwnBundleSection | PeersSection | SendersSection | RevealedSection | AnswerSection,
    };

    private uint CurrentSections() => ExpectedSections(State, selfMaskSeed is not null);

    private void Restore(ReadOnlySpan<byte> state)
    {
        if (state.Length < MacSize)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "malformed party state: message is truncated");
        }

        var body = state[..^MacSize];
        var r = new WireReader(body, "party state");
        if (!r.Bytes(StateMagic.Length).SequenceEqual(StateMagic))
        {
            throw r.Malformed("not a secure-aggregation party state");
        }

        var version = r.Byte();
        if (version == 1)
        {
            throw r.Malformed("version 1 was saved by an older agent whose share envelopes and unmask responses are not sender-authenticated; " +
                "this version cannot resume it (peers would refuse its messages): delete the state file and let the session count this pod as dropped");
        }

        if (version != StateVersion)
        {
            throw r.Malformed($"unsupported version {version} (expected {StateVersion})");
        }

        var sessionId = r.String();
        if (!string.Equals(sessionId, parameters.SessionId, StringComparison.Ordinal))
        {
            throw r.Malformed($"state is for session '{sessionId}', expected '{parameters.SessionId}'");
        }

        if (!r.Bytes(32).SequenceEqual(parameters.Digest()))
        {
            throw r.Malformed("state was saved under different session parameters");
        }

        var party = r.Int32();
        if (party != Party)
        {
            throw new MessageRejectedException(ProtocolError.UnknownParty, $"state belongs to party {party}, not party {Party}");
        }

        if (!r.Bytes(Ed25519KeyPair.KeySize).SequenceEqual(identity.PublicKey))
        {
            throw new CryptographicCheckException(ProtocolError.IdentityMismatch, $"state of party {Party} was saved with another identity key");
        }

        var macKey = StateMacKey(parameters, Party, identity);
        Span<byte> mac = stackalloc byte[MacSize];
        try
        {
            HMACSHA256.HashData(macKey, body, mac);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(macKey);
        }

        if (!CryptographicOperations.FixedTimeEquals(mac, state[^MacSize..]))
        {
            throw r.Malformed("integrity check failed (corrupted or tampered)");
        }

        var step = r.Byte();
        if (step > (byte)Step.Responded)
        {
            throw r.Malformed($"unknown step {step}");
        }

        var sections = r.UInt32();
        var maskingSecretsHeld = (sections & SelfMaskSection) != 0;
        if (sections != ExpectedSections((Step)step, maskingSecretsHeld))
        {
            throw r.Malformed($"sections 0x{sections:x3} do not fit step {(Step)step}");
        }

        if ((sections & OwnBundleSection) != 0)
        {
            bundle = KeyBundle.Parse(r.LengthPrefixed());
            if (bundle.Party != Party || !bundle.IdentityKey.AsSpan().SequenceEqual(identity.PublicKey) || !bundle.VerifySignature(parameters))
            {
                throw r.Malformed("own key bundle is not this party's, or not signed over these parameters");
            }
        }

        if ((sections & SealKeySection) != 0)
        {
            sealKey = X25519KeyPair.FromPrivateKey(r.Bytes(SecretSize));
            if (!sealKey.PublicKey.AsSpan().SequenceEqual(bundle!.SealKey))
            {
                throw r.Malformed("seal key does not match the published bundle");
            }
        }

        if ((sections & MaskKeySection) != 0)
        {
            maskKey = X25519KeyPair.FromPrivateKey(r.Bytes(SecretSize));
            if (!maskKey.PublicKey.AsSpan().SequenceEqual(bundle!.MaskKey))
            {
                throw r.Malformed("mask key does not match the published bundle");
            }
        }

        if ((sections & PeersSection) != 0)
        {
            var peerBundles = new List<KeyBundle>();
            for (var count = ReadCount(ref r, 4); count > 0; count--)
            {
                peerBundles.Add(KeyBundle.Parse(r.LengthPrefixed()));
            }

            bundles = SessionRules.ValidateBundles(parameters, peerBundles, pins);
            if (!bundles.TryGetValue(Party, out var own) || !own.ToBytes().AsSpan().SequenceEqual(bundle!.ToBytes()))
            {
                throw r.Malformed("the stored bundle set does not contain this party's own bundle");
            }

            var envelopes = new List<ShareEnvelope>();
            for (var count = ReadCount(ref r, 4); count > 0; count--)
            {
                var e = ShareEnvelope.Parse(r.LengthPrefixed());
                if (e.From != Party || !string.Equals(e.SessionId, parameters.SessionId, StringComparison.Ordinal) || e.To == Party ||
                    !bundles.ContainsKey(e.To) || envelopes.Exists(x => x.To == e.To))
                {
                    throw r.Malformed($"stored envelope from {e.From} to {e.To} does not fit the stored bundles");
                }

                envelopes.Add(e);
            }

            if (envelopes.Count != bundles.Count - 1)
            {
                throw r.Malformed("stored envelopes do not cover every other party");
            }

            sentEnvelopes = envelopes;
        }

        if ((sections & SelfMaskSection) != 0)
        {
            selfMaskSeed = r.Bytes(SecretSize).ToArray();
        }

        if ((sections & InputTagSection) != 0)
        {
            inputTag = r.Bytes(MacSize).ToArray();
        }

        if ((sections & SendersSection) != 0)
        {
            shareSenders = [.. r.Parties()];
            if (!shareSenders.Contains(Party) || !shareSenders.IsSubsetOf(bundles!.Keys) || shareSenders.Count < parameters.Threshold)
            {
                throw r.Malformed("stored share senders do not fit the stored bundles");
            }
        }

        if ((sections & SharesSection) != 0)
        {
            for (var count = ReadCount(ref r, 4 + (2 * SecretSize)); count > 0; count--)
            {
                var owner = r.Int32();
                var selfShare = r.Bytes(SecretSize).ToArray();
                var keyShare = r.Bytes(SecretSize).ToArray();
                if (!heldShares.TryAdd(owner, (selfShare, keyShare)))
                {
                    CryptographicOperations.ZeroMemory(selfShare);
                    CryptographicOperations.ZeroMemory(keyShare);
                    throw r.Malformed($"two stored shares of party {owner}");
                }
            }

            IEnumerable<int> expectedOwners = shareSenders is null ? [Party] : shareSenders;
            if (!heldShares.Keys.ToHashSet().SetEquals(expectedOwners))
            {
                throw r.Malformed("stored shares do not match the share senders");
            }
        }

        if ((sections & RevealedSection) != 0)
        {
            foreach (var j in r.Parties())
            {
                revealedSelfMask.Add(j);
            }

            foreach (var j in r.Parties())
            {
                revealedMaskKey.Add(j);
            }

            if (!revealedSelfMask.IsSubsetOf(shareSenders!) || !revealedMaskKey.IsSubsetOf(shareSenders!) || revealedSelfMask.Overlaps(revealedMaskKey))
            {
                throw r.Malformed("stored revealed shares do not fit the share senders");
            }
        }

        if ((sections & AnswerSection) != 0)
        {
            answeredRequest = UnmaskRequest.Parse(r.LengthPrefixed());
            answer = UnmaskResponse.Parse(r.LengthPrefixed());
            var (senders, _) = SessionRules.ValidateRequest(parameters, answeredRequest, bundles!.Keys);
            if (!senders.SetEquals(shareSenders!) || answer.Party != Party || !string.Equals(answer.SessionId, parameters.SessionId, StringComparison.Ordinal))
            {
                throw r.Malformed("stored unmask request or response does not fit this party");
            }
        }

        r.ExpectEnd();
        State = (Step)step;
    }

    private static uint ReadCount(ref WireReader r, int minimumItemSize)
    {
        var count = r.UInt32();
        return count > (uint)(r.Remaining / minimumItemSize) ? throw r.Malformed("count longer than the state") : count;
    }
}
