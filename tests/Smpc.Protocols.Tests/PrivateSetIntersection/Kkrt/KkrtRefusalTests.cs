using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Protocols.Tests.PrivateSetIntersection.Kkrt;

/// <summary>Bad input at every step is refused with the right error, and the refused party still finishes correctly.</summary>
public sealed class KkrtRefusalTests
{
    private static readonly byte[] Modeller = KkrtSession.Digests(Enumerable.Range(0, 40));
    private static readonly byte[] Pod = KkrtSession.Digests(Enumerable.Range(30, 25));

    private static void Refused(ProtocolError error, Action action) => Assert.Equal(error, Assert.ThrowsAny<ProtocolException>(action).Error);

    private static void AssertRightResult(KkrtMatches matches)
    {
        Assert.Equal(Enumerable.Range(0, 40).Select(k => k >= 30).ToArray(), matches.Matched);
        Assert.Equal(25, matches.PodSetSize);
    }

    private static byte[] NonCanonical() => Enumerable.Repeat((byte)0xff, 32).ToArray();

    [Fact]
    public void Pod_RefusesEachBadQueryPart_AndThenFinishesCorrectly()
    {
        using var receiver = new KkrtPsiReceiver(Modeller, new DeterministicTestRandom(1));
        using var sender = new KkrtPsiSender(40, new DeterministicTestRandom(2));
        Refused(ProtocolError.OutOfOrder, () => sender.ReadQueryHeader(new byte[KkrtParameters.QueryHeaderBytes]));
        Refused(ProtocolError.OutOfOrder, () => sender.ReadQueryRows(0, new byte[64]));
        Refused(ProtocolError.OutOfOrder, () => sender.EndQuery());
        Refused(ProtocolError.OutOfOrder, () => sender.Reply(Pod));
        var setup = sender.CreateSetup();
        Refused(ProtocolError.OutOfOrder, () => sender.CreateSetup());
        receiver.ReadSetup(setup);
        var header = receiver.QueryHeader();

        Refused(ProtocolError.Malformed, () => sender.ReadQueryHeader(header.AsSpan(0, header.Length - 1)));
        Refused(ProtocolError.Malformed, () => sender.ReadQueryHeader([.. header, 0]));
        Refused(ProtocolError.Malformed, () => sender.ReadQueryHeader([]));
        foreach (var j in new[] { 0, 300, 511 })
        {
            foreach (var bad in new[] { NonCanonical(), new byte[32] })
            {
                var tampered = (byte[])header.Clone();
                bad.CopyTo(tampered, 16 + (j * 32));
                Refused(ProtocolError.InvalidElement, () => sender.ReadQueryHeader(tampered));
            }
        }

        Refused(ProtocolError.OutOfOrder, () => sender.ReadQueryRows(0, new byte[64]));
        sender.ReadQueryHeader(header);
        Refused(ProtocolError.OutOfOrder, () => sender.ReadQueryHeader(header));

        var rows = new byte[receiver.Bins * 64];
        receiver.WriteRows(0, (int)receiver.Bins, rows);
        Refused(ProtocolError.OutOfOrder, () => sender.ReadQueryRows(1, rows.AsSpan(64, 64)));
        Refused(ProtocolError.Malformed, () => sender.ReadQueryRows(0, rows.AsSpan(0, 65)));
        Refused(ProtocolError.Malformed, () => sender.ReadQueryRows(0, [.. rows, .. new byte[64]]));
        Refused(ProtocolError.Malformed, () => sender.EndQuery());
        sender.ReadQueryRows(0, rows.AsSpan(0, 64 * 10));
        Refused(ProtocolError.OutOfOrder, () => sender.ReadQueryRows(0, rows.AsSpan(0, 64)));
        Refused(ProtocolError.OutOfOrder, () => sender.ReadQueryRows(11, rows.AsSpan(11 * 64, 64)));
        Refused(ProtocolError.Malformed, () => sender.ReadQueryRows(10, rows.AsSpan(10 * 64)[..^1]));
        Refused(ProtocolError.Malformed, () => sender.EndQuery());
        Refused(ProtocolError.OutOfOrder, () => sender.Reply(Pod));
        sender.ReadQueryRows(10, rows.AsSpan(10 * 64));
        Refused(ProtocolError.Malformed, () => sender.ReadQueryRows(receiver.Bins, rows.AsSpan(0, 64)));
        sender.EndQuery();
        Refused(ProtocolError.OutOfOrder, () => sender.EndQuery());
        Refused(ProtocolError.OutOfOrder, () => sender.ReadQueryRows(receiver.Bins, []));

        Refused(ProtocolError.InvalidParameters, () => sender.Reply(Pod.AsSpan(0, Pod.Length - 1)));
        Refused(ProtocolError.Duplicate, () => sender.Reply([.. Pod, .. Pod.AsSpan(0, 16)]));
        var reply = sender.Reply(Pod);
        Refused(ProtocolError.OutOfOrder, () => sender.Reply(Pod));
        AssertRightResult(receiver.Match(reply));
    }

    [Fact]
    public void Modeller_RefusesEachBadSetupAndReply_AndThenFinishesCorrectly()
    {
        using var receiver = new KkrtPsiReceiver(Modeller, new DeterministicTestRandom(3));
        using var sender = new KkrtPsiSender(40, new DeterministicTestRandom(4));
        Refused(ProtocolError.OutOfOrder, () => receiver.QueryHeader());
        Refused(ProtocolError.OutOfOrder, () => receiver.WriteRows(0, 1, new byte[64]));
        Refused(ProtocolError.OutOfOrder, () => receiver.Match([]));
        var setup = sender.CreateSetup();

        Refused(ProtocolError.Malformed, () => receiver.ReadSetup(setup.AsSpan(0, setup.Length - 1)));
        Refused(ProtocolError.Malformed, () => receiver.ReadSetup([.. setup, 0]));
        foreach (var offset in new[] { 16, 16 + 32, 16 + (200 * 64), 16 + (511 * 64) + 32 })
        {
            foreach (var bad in new[] { NonCanonical(), new byte[32] })
            {
                var tampered = (byte[])setup.Clone();
                bad.CopyTo(tampered, offset);
                Refused(ProtocolError.InvalidElement, () => receiver.ReadSetup(tampered));
            }
        }

        // R_{j,0} = −G_j(R_{j,1}): each element is valid but the shared point b·(R_0 + G_j(R_1)) is the identity.
        {
            var j = 5;
            var tampered = (byte[])setup.Clone();
            var r1 = tampered.AsSpan(16 + (j * 64) + 32, 32).ToArray();
            var hashed = new byte[32];
            KkrtPrimitives.OtHash(j, r1, hashed);
            var twice = new byte[32];
            var negated = new byte[32];
            Assert.True(Ristretto255.TryAdd(hashed, hashed, twice));
            Assert.True(Ristretto255.TrySubtract(hashed, twice, negated));
            Assert.True(Ristretto255.IsValid(negated));
            negated.CopyTo(tampered, 16 + (j * 64));
            Refused(ProtocolError.InvalidElement, () => receiver.ReadSetup(tampered));
        }

        Refused(ProtocolError.OutOfOrder, () => receiver.QueryHeader());
        receiver.ReadSetup(setup);
        Refused(ProtocolError.OutOfOrder, () => receiver.ReadSetup(setup));
        Refused(ProtocolError.OutOfOrder, () => receiver.WriteRows(0, 1, new byte[64]));
        var header = receiver.QueryHeader();
        Refused(ProtocolError.OutOfOrder, () => receiver.QueryHeader());
        sender.ReadQueryHeader(header);

        var bins = (int)receiver.Bins;
        var rows = new byte[bins * 64];
        Refused(ProtocolError.OutOfOrder, () => receiver.WriteRows(1, 1, rows));
        Refused(ProtocolError.Malformed, () => receiver.WriteRows(0, bins + 1, new byte[(bins + 1) * 64]));
        Refused(ProtocolError.Malformed, () => receiver.WriteRows(0, 2, new byte[127]));
        Refused(ProtocolError.Malformed, () => receiver.WriteRows(0, -1, rows));
        receiver.WriteRows(0, 50, rows);
        Refused(ProtocolError.OutOfOrder, () => receiver.Match([]));
        Refused(ProtocolError.OutOfOrder, () => receiver.WriteRows(0, 1, rows));
        receiver.WriteRows(50, bins - 50, rows.AsSpan(50 * 64));
        Refused(ProtocolError.Malformed, () => receiver.WriteRows(bins, 1, rows));
        sender.ReadQueryRows(0, rows);
        sender.EndQuery();
        var reply = sender.Reply(Pod);

        var tag = receiver.TagBytes;
        Refused(ProtocolError.Malformed, () => receiver.Match(reply.AsSpan(0, reply.Length - 1)));
        Refused(ProtocolError.Malformed, () => receiver.Match(reply.AsSpan(0, reply.Length - tag)));
        Refused(ProtocolError.Malformed, () => receiver.Match([.. reply, .. new byte[tag]]));
        foreach (var list in new[] { 0, 1, 2 })
        {
            // Swap the first and last tags of one list.
            var unsorted = (byte[])reply.Clone();
            var first = unsorted.AsSpan(list * 25 * tag, tag).ToArray();
            var last = unsorted.AsSpan(((list * 25) + 24) * tag, tag).ToArray();
            last.CopyTo(unsorted, list * 25 * tag);
            first.CopyTo(unsorted, ((list * 25) + 24) * tag);
            Refused(ProtocolError.Malformed, () => receiver.Match(unsorted));
        }

        AssertRightResult(receiver.Match(reply));
        Refused(ProtocolError.OutOfOrder, () => receiver.Match(reply));
    }

    [Fact]
    public void Modeller_RepeatedTagsInAListAreAccepted_AsNonDecreasing()
    {
        using var receiver = new KkrtPsiReceiver(Modeller, new DeterministicTestRandom(5));
        using var sender = new KkrtPsiSender(40, new DeterministicTestRandom(6));
        receiver.ReadSetup(sender.CreateSetup());
        KkrtSession.Stream(receiver, sender, 64);
        var reply = sender.Reply(Pod);
        var tag = receiver.TagBytes;

        // Non-decreasing is accepted: a list whose first tag appears twice (a colliding pair of pod tags) is still sorted.
        var repeated = new byte[reply.Length + (3 * tag)];
        for (var list = 0; list < 3; list++)
        {
            var source = reply.AsSpan(list * 25 * tag, 25 * tag);
            source[..tag].CopyTo(repeated.AsSpan(list * 26 * tag));
            source.CopyTo(repeated.AsSpan((list * 26 * tag) + tag));
        }

        var matches = receiver.Match(repeated);
        Assert.Equal(26, matches.PodSetSize);
        Assert.Equal(10, matches.Count);
    }

    [Fact]
    public void Parties_RefuseBadSetSizes_AndRepeatedItems()
    {
        Refused(ProtocolError.Duplicate, () => new KkrtPsiReceiver(KkrtSession.Digests([1, 2, 1]), new DeterministicTestRandom(1)));
        Refused(ProtocolError.InvalidParameters, () => new KkrtPsiReceiver(new byte[33], new DeterministicTestRandom(1)));
        Refused(ProtocolError.InvalidParameters, () => new KkrtPsiSender(-1, new DeterministicTestRandom(1)));
        Refused(ProtocolError.InvalidParameters, () => new KkrtPsiSender(int.MaxValue, new DeterministicTestRandom(1)));
    }

    [Fact]
    public void Version_OnlyKkrtV1IsAccepted()
    {
        KkrtPsiVersion.Require("kkrt-v1", "the pod");
        Refused(ProtocolError.UnsupportedVersion, () => KkrtPsiVersion.Require("kkrt-v0", "the pod"));
        Refused(ProtocolError.UnsupportedVersion, () => KkrtPsiVersion.Require(null, "the pod"));
    }
}
