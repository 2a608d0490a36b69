using System.Security.Cryptography;
using Smpc.Protocols.Crypto;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>Validation and derivations shared by the party and the unmasker, so both sides compute the same bytes.</summary>
internal static class SessionRules
{
    public const byte SelfMaskShareKind = 1;
    public const byte MaskKeyShareKind = 2;

    /// <summary>Version byte of the unmask-response plaintext; 2 added the responder's signature.</summary>
    public const byte ResponseVersion = 2;
    private const int SecretSize = 32;
    private static readonly byte[] PairSalt = "smpc/secagg/pair/v1"u8.ToArray();
    private static readonly byte[] EnvelopeSalt = "smpc/secagg/envelope/v1"u8.ToArray();

    /// <summary>
    /// Checks a full set of key bundles: session, range, duplicates, signatures over the session parameters, and
    /// pins. Fails closed: a bundle whose party has no pin, or whose identity key does not match it, is refused.
    /// </summary>
    public static SortedDictionary<int, KeyBundle> ValidateBundles(SessionParameters p, IEnumerable<KeyBundle> bundles, IReadOnlyDictionary<int, string> pins)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        ArgumentNullException.ThrowIfNull(pins);
        var result = new SortedDictionary<int, KeyBundle>();
        foreach (var b in bundles)
        {
            CheckSession(p, b.SessionId, "key bundle");
            CheckParty(p, b.Party);
            if (!result.TryAdd(b.Party, b))
            {
                throw new MessageRejectedException(ProtocolError.Duplicate, $"two key bundles for party {b.Party}");
            }

            // Pins first: a bundle from an unpinned or substituted identity is refused whatever it signs.
            if (!pins.TryGetValue(b.Party, out var pinned) || pinned is null || !KeyFingerprint.Matches(pinned, b.IdentityKey))
            {
                throw new CryptographicCheckException(ProtocolError.IdentityMismatch, $"identity key of party {b.Party} does not match a pinned fingerprint");
            }

            if (!b.VerifySignature(p))
            {
                throw new CryptographicCheckException(ProtocolError.BadSignature, $"key bundle of party {b.Party} has no valid signature over this session's parameters (forged, replayed from another round, signed under different parameters, or by a peer of an older protocol version)");
            }

            // Signed is not enough: a pod's own low-order key would make its pairwise secrets public.
            X25519KeyPair.CheckPeerKey(b.SealKey, $"the seal key of party {b.Party}");
            X25519KeyPair.CheckPeerKey(b.MaskKey, $"the mask key of party {b.Party}");
        }

        if (result.Count < p.Threshold)
        {
            throw new ProtocolException(ProtocolError.InsufficientParties, $"{result.Count} key bundles, threshold is {p.Threshold}");
        }

        return result;
    }

    public static void CheckSession(SessionParameters p, string sessionId, string what)
    {
        if (!string.Equals(sessionId, p.SessionId, StringComparison.Ordinal))
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"{what} is for session '{sessionId}', expected '{p.SessionId}'");
        }
    }

    public static void CheckParty(SessionParameters p, int party)
    {
        if (party < 1 || party > p.PartyCount)
        {
            throw new MessageRejectedException(ProtocolError.UnknownParty, $"party {party} is outside 1..{p.PartyCount}");
        }
    }

    /// <summary>Validates U2 and U3 of a request against the known parties; returns them as sorted sets.</summary>
    public static (SortedSet<int> Senders, SortedSet<int> Survivors) ValidateRequest(SessionParameters p, UnmaskRequest request, ICollection<int> knownParties)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckSession(p, request.SessionId, "unmask request");
        var senders = new SortedSet<int>();
        foreach (var s in request.ShareSenders)
        {
            if (!knownParties.Contains(s))
            {
                throw new MessageRejectedException(ProtocolError.UnknownParty, $"unmask request names unknown share sender {s}");
            }

            if (!senders.Add(s))
            {
                throw new MessageRejectedException(ProtocolError.Malformed, $"unmask request repeats share sender {s}");
            }
        }

        var survivors = new SortedSet<int>();
        foreach (var s in request.Survivors)
        {
            if (!senders.Contains(s))
            {
                throw new MessageRejectedException(ProtocolError.Contradictory, $"survivor {s} did not send shares");
            }

            if (!survivors.Add(s))
            {
                throw new MessageRejectedException(ProtocolError.Malformed, $"unmask request repeats survivor {s}");
            }
        }

        if (survivors.Count < p.Threshold)
        {
            throw new ProtocolException(ProtocolError.InsufficientParties, $"{survivors.Count} survivors, threshold is {p.Threshold}");
        }

        return (senders, survivors);
    }

    /// <summary>s_ij = HKDF-SHA-256(X25519(sk_i, pk_j), salt "smpc/secagg/pair/v1", info session ‖ round ‖ lo ‖ hi ‖ pk_lo ‖ pk_hi).</summary>
    public static byte[] PairSeed(SessionParameters p, X25519KeyPair ownMaskKey, int own, KeyBundle peer)
    {
        var shared = ownMaskKey.Agree(peer.MaskKey);
        try
        {
            return PairSeed(p, shared, own, ownMaskKey.PublicKey, peer.Party, peer.MaskKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
        }
    }

    public static byte[] PairSeed(SessionParameters p, byte[] shared, int i, byte[] pkI, int j, byte[] pkJ)
    {
        var (lo, pkLo, hi, pkHi) = i < j ? (i, pkI, j, pkJ) : (j, pkJ, i, pkI);
        var info = new WireWriter().String(p.SessionId).UInt32(p.Round).Int32(lo).Int32(hi).Bytes(pkLo).Bytes(pkHi).ToArray();
        return Hkdf.DeriveKey(shared, PairSalt, info, SecretSize);
    }

    /// <summary>
    /// The key of the envelope from <paramref name="from"/> to <paramref name="to"/>: HKDF-SHA-256(IKM = X25519(own seal key,
    /// peer's C), salt "smpc/secagg/envelope/v1", info str(session) ‖ BE32 round ‖ BE32 from ‖ BE32 to ‖ C_from ‖ C_to, 32 bytes).
    /// Only the two parties holding c_from or c_to can compute it, and each direction has its own key.
    /// </summary>
    public static byte[] EnvelopeKey(SessionParameters p, X25519KeyPair ownSealKey, int from, int to, ReadOnlySpan<byte> sealKeyFrom, ReadOnlySpan<byte> sealKeyTo)
    {
        var ownIsFrom = ownSealKey.PublicKey.AsSpan().SequenceEqual(sealKeyFrom);
        var shared = ownSealKey.Agree(ownIsFrom ? sealKeyTo : sealKeyFrom);
        try
        {
            return EnvelopeKey(p, shared, from, to, sealKeyFrom, sealKeyTo);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
        }
    }

    public static byte[] EnvelopeKey(SessionParameters p, ReadOnlySpan<byte> shared, int from, int to, ReadOnlySpan<byte> sealKeyFrom, ReadOnlySpan<byte> sealKeyTo)
    {
        var info = new WireWriter().String(p.SessionId).UInt32(p.Round).Int32(from).Int32(to).Bytes(sealKeyFrom).Bytes(sealKeyTo).ToArray();
        return Hkdf.DeriveKey(shared, EnvelopeSalt, info, PairwiseBox.KeySize);
    }

    /// <summary>AD of a share envelope: "smpc/secagg/share/v1" ‖ session ‖ round ‖ from ‖ to.</summary>
    public static byte[] ShareAssociatedData(SessionParameters p, int from, int to) =>
        new WireWriter().Bytes("smpc/secagg/share/v1"u8).String(p.SessionId).UInt32(p.Round).Int32(from).Int32(to).ToArray();

    /// <summary>AD of an unmask response: "smpc/secagg/unmask/v1" ‖ session ‖ round ‖ from ‖ SHA-256(request).</summary>
    public static byte[] UnmaskAssociatedData(SessionParameters p, int from, UnmaskRequest request) =>
        new WireWriter().Bytes("smpc/secagg/unmask/v1"u8).String(p.SessionId).UInt32(p.Round).Int32(from).Bytes(request.Digest()).ToArray();

    /// <summary>Share plaintext: 01 ‖ BE32 owner ‖ BE32 holder ‖ x ‖ b-share (32) ‖ x ‖ key-share (32).</summary>
    public static byte[] EncodeSharePair(int owner, int holder, byte index, ReadOnlySpan<byte> selfMaskShare, ReadOnlySpan<byte> maskKeyShare)
    {
        var w = new WireWriter(1 + 4 + 4 + 1 + SecretSize + 1 + SecretSize);
        try
        {
            return w.Byte(1).Int32(owner).Int32(holder).Byte(index).Bytes(selfMaskShare).Byte(index).Bytes(maskKeyShare).ToArray();
        }
        finally
        {
            w.Wipe();
        }
    }

    public static (byte[] SelfMaskShare, byte[] MaskKeyShare) DecodeSharePair(ReadOnlySpan<byte> plaintext, int expectedOwner, int expectedHolder)
    {
        var r = new WireReader(plaintext, "share plaintext");
        if (r.Byte() != 1)
        {
            throw r.Malformed("unknown version");
        }

        var owner = r.Int32();
        var holder = r.Int32();
        var x1 = r.Byte();
        var b = r.Bytes(SecretSize);
        var x2 = r.Byte();
        var k = r.Bytes(SecretSize);
        r.ExpectEnd();
        if (owner != expectedOwner || holder != expectedHolder || x1 != expectedHolder || x2 != expectedHolder)
        {
            throw new CryptographicCheckException(ProtocolError.InconsistentShares, $"share envelope from {expectedOwner} to {expectedHolder} carries owner {owner}, holder {holder}, indices {x1}/{x2}");
        }

        // Copied only once the plaintext is known good, so a refusal leaves no share behind.
        return (b.ToArray(), k.ToArray());
    }

    /// <summary>
    /// The bytes a responder's identity key signs: "smpc/secagg/unmask-sig/v1" ‖ SHA-256(canonical parameters) ‖
    /// SHA-256(UnmaskRequest bytes) ‖ body, the body being the response plaintext before its signature.
    /// </summary>
    public static byte[] ResponseSignedBytes(SessionParameters p, UnmaskRequest request, ReadOnlySpan<byte> body) =>
        new WireWriter().Bytes("smpc/secagg/unmask-sig/v1"u8).Bytes(p.Digest()).Bytes(request.Digest()).Bytes(body).ToArray();

    /// <summary>
    /// Response plaintext: body ‖ Ed25519 signature (64) over <see cref="ResponseSignedBytes"/>, where body =
    /// 02 ‖ BE32 party ‖ BE32 count ‖ count × (BE32 owner ‖ kind ‖ x ‖ share (32)), entries in ascending owner order.
    /// </summary>
    public static byte[] EncodeResponse(SessionParameters p, UnmaskRequest request, Ed25519KeyPair identity, int party, IReadOnlyList<(int Owner, byte Kind, byte[] Share)> entries)
    {
        var w = new WireWriter(1 + 4 + 4 + (entries.Count * (4 + 1 + 1 + SecretSize)) + Ed25519KeyPair.SignatureSize);
        byte[]? signed = null;
        try
        {
            w.Byte(ResponseVersion).Int32(party).UInt32((uint)entries.Count);
            foreach (var (owner, kind, share) in entries)
            {
                w.Int32(owner).Byte(kind).Byte((byte)party).Bytes(share);
            }

            signed = ResponseSignedBytes(p, request, w.Written);
            return w.Bytes(identity.Sign(signed)).ToArray();
        }
        finally
        {
            w.Wipe();
            if (signed is not null)
            {
                CryptographicOperations.ZeroMemory(signed);
            }
        }
    }

    /// <summary>
    /// Checks the responder's signature under its pinned identity key (else <see cref="ProtocolError.SenderNotAuthenticated"/>),
    /// then parses the body: version, party, strictly ascending owners, x = party.
    /// </summary>
    public static List<(int Owner, byte Kind, byte[] Share)> DecodeResponse(SessionParameters p, UnmaskRequest request, ReadOnlySpan<byte> plaintext, int expectedParty, ReadOnlySpan<byte> identityKey)
    {
        if (plaintext.Length < 1 + Ed25519KeyPair.SignatureSize)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "malformed unmask response plaintext: message is truncated");
        }

        var body = plaintext[..^Ed25519KeyPair.SignatureSize];
        var signed = ResponseSignedBytes(p, request, body);
        try
        {
            if (!Ed25519KeyPair.Verify(identityKey, signed, plaintext[^Ed25519KeyPair.SignatureSize..]))
            {
                throw new CryptographicCheckException(ProtocolError.SenderNotAuthenticated, $"unmask response of party {expectedParty} is not signed by its pinned identity over this session and request (forged or substituted in transit, or from an older protocol version)");
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(signed);
        }

        var r = new WireReader(body, "unmask response plaintext");
        if (r.Byte() != ResponseVersion)
        {
            throw r.Malformed("unknown version");
        }

        var party = r.Int32();
        var count = r.UInt32();
        if (party != expectedParty || count > (uint)r.Remaining / (4 + 1 + 1 + SecretSize))
        {
            throw new CryptographicCheckException(ProtocolError.InconsistentShares, $"response of party {expectedParty} names party {party} or has a bad count");
        }

        var entries = new List<(int Owner, byte Kind, byte[] Share)>((int)count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var owner = r.Int32();
                var kind = r.Byte();
                var x = r.Byte();
                var share = r.Bytes(SecretSize);
                if (x != expectedParty)
                {
                    throw new CryptographicCheckException(ProtocolError.InconsistentShares, $"party {expectedParty} returned a share with index {x}: shares are bound to their holder");
                }

                if (entries.Count > 0 && owner <= entries[^1].Owner)
                {
                    throw r.Malformed("share owners are not strictly ascending");
                }

                entries.Add((owner, kind, share.ToArray()));
            }

            r.ExpectEnd();
            return entries;
        }
        catch
        {
            Wipe(entries);
            throw;
        }
    }

    /// <summary>Zeroes every share of a decoded response.</summary>
    public static void Wipe(List<(int Owner, byte Kind, byte[] Share)> entries)
    {
        foreach (var entry in entries)
        {
            CryptographicOperations.ZeroMemory(entry.Share);
        }
    }
}
