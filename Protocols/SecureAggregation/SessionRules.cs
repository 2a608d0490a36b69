using System.Security.Cryptography;
using Smpc.Protocols.Crypto;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>Validation and derivations shared by the party and the unmasker, so both sides compute the same bytes.</summary>
internal static class SessionRules
{
    public const byte SelfMaskShareKind = 1;
    public const byte MaskKeyShareKind = 2;
    private const int SecretSize = 32;
    private static readonly byte[] PairSalt = "smpc/secagg/pair/v1"u8.ToArray();

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
                throw new CryptographicCheckException(ProtocolError.BadSignature, $"key bundle of party {b.Party} has no valid signature over this session's parameters (forged, replayed from another round, or signed under different parameters)");
            }
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

    /// <summary>Response plaintext: 01 ‖ BE32 party ‖ BE32 count ‖ count × (BE32 owner ‖ kind ‖ x ‖ share (32)).</summary>
    public static byte[] EncodeResponse(int party, IReadOnlyList<(int Owner, byte Kind, byte[] Share)> entries)
    {
        var w = new WireWriter(1 + 4 + 4 + (entries.Count * (4 + 1 + 1 + SecretSize)));
        try
        {
            w.Byte(1).Int32(party).UInt32((uint)entries.Count);
            foreach (var (owner, kind, share) in entries)
            {
                w.Int32(owner).Byte(kind).Byte((byte)party).Bytes(share);
            }

            return w.ToArray();
        }
        finally
        {
            w.Wipe();
        }
    }

    public static List<(int Owner, byte Kind, byte[] Share)> DecodeResponse(ReadOnlySpan<byte> plaintext, int expectedParty)
    {
        var r = new WireReader(plaintext, "unmask response plaintext");
        if (r.Byte() != 1)
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
