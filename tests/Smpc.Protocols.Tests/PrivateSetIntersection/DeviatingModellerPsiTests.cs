using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

/// <summary>
/// A modeller that deviates from ECDH PSI (issue #17, finding 4), played against the pod-side code the pod agent runs:
/// <see cref="PsiQueryGuard"/>, <see cref="EcdhPsiServer"/> and <see cref="PodCardinalityCounter"/>. The attacker builds its
/// messages by hand from the group operations; each attack is refused or yields no more than docs/security.md says.
/// </summary>
public sealed class DeviatingModellerPsiTests
{
    private const int MinCount = 5;

    [Fact]
    public void PlainDuplicates_AreRefusedBeforeAnythingIsAnswered()
    {
        // minCount copies of one blinded element would make a pod-counted count an exact membership test.
        var random = new DeterministicTestRandom(41);
        using var pod = new EcdhPsiServer(PsiMode.Cardinality, random);
        using var modeller = new EcdhPsiClient(PsiMode.Cardinality, random);
        var one = modeller.BlindBatch([Target]);
        var query = Enumerable.Repeat(one, MinCount).SelectMany(e => e).ToArray();
        var guard = new PsiQueryGuard(pod.BeginQuery(MinCount), MinCount, 32);
        Assert.Equal(ProtocolError.Duplicate, Assert.Throws<MessageRejectedException>(() => guard.Respond(query)).Error);
        Assert.Equal(0, guard.Answered);
    }

    [Fact]
    public void DuplicatesAcrossBatches_AreRefusedToo()
    {
        var random = new DeterministicTestRandom(42);
        using var pod = new EcdhPsiServer(PsiMode.Intersection, random);
        using var modeller = new EcdhPsiClient(PsiMode.Intersection, random);
        var batch = modeller.BlindBatch([[1], [2]]);
        var guard = new PsiQueryGuard(pod.BeginQuery(4), 4, 32);
        _ = guard.Respond(batch);
        Assert.Equal(ProtocolError.Duplicate, Assert.Throws<MessageRejectedException>(() => guard.Respond(batch.AsMemory(32, 32))).Error);
    }

    [Fact]
    public void AQueryLargerThanDeclared_IsRefusedAtTheFirstElementPastIt_AndAShortOneIsNotCounted()
    {
        // The service checks sizes too; the pod does not rely on it: a streamed responder answers no more than declared.
        var random = new DeterministicTestRandom(43);
        using var pod = new EcdhPsiServer(PsiMode.Intersection, random);
        using var modeller = new EcdhPsiClient(PsiMode.Intersection, random);
        var guard = new PsiQueryGuard(pod.BeginQuery(3), 3, 32);
        _ = guard.Respond(modeller.BlindBatch([[1], [2]]));
        Assert.Equal(ProtocolError.PolicyRefused, Assert.Throws<ProtocolException>(() => guard.Respond(modeller.BlindBatch([[3], [4]]))).Error);
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(guard.Complete).Error);
    }

    [Fact]
    public void IntersectionMode_TheSameRecordUnderTwoBlinds_PassesButGivesOneAnswer()
    {
        // Per-record blinds make equal records unequal points, so the pod cannot see this repeat; it gains nothing: the
        // OPRF output is a function of the record, and the second copy only spends the query budget.
        var random = new DeterministicTestRandom(44);
        using var pod = new EcdhPsiServer(PsiMode.Intersection, random);
        using var modeller = new EcdhPsiClient(PsiMode.Intersection, random);
        var blinded = modeller.BlindBatch([Target, Target]);
        var guard = new PsiQueryGuard(pod.BeginQuery(2), 2, 32);
        var tags = modeller.FinalizeBatch(0, [Target, Target], guard.Respond(blinded));
        Assert.Equal(tags.AsSpan(0, 32).ToArray(), tags.AsSpan(32, 32).ToArray());
    }

    [Fact]
    public void CardinalityWithPerRecordScalars_TheModellerGetsNoRepliesToLink()
    {
        // The old attack: a scalar a_i per record, then raise the pod's set by every a_i and look for each in the shuffled
        // replies. Since ecdh-oprf-v1 a cardinality session has no replies: the pod keeps k·A_i and releases a count only.
        var (client, server, planted) = PsiTestData.Make(40, 20, seed: 45);
        var random = new DeterministicTestRandom(45);
        using var pod = new EcdhPsiServer(PsiMode.Cardinality, random);
        var published = PsiElements.SortUnique(pod.EncodeServerBatch(server), 32);
        var scalars = client.Select(_ => Ristretto255.RandomScalar(random)).ToArray();
        var query = client.Select((x, i) => Mul(scalars[i], H(x))).SelectMany(e => e).ToArray();
        var counter = new PodCardinalityCounter();
        var guard = new PsiQueryGuard(pod.BeginQuery(client.Length), client.Length, 32);
        counter.AddAnswers(guard.Respond(query)); // accepted: the points are distinct
        guard.Complete();

        // The best it can hand back under one scalar a_0: only the record queried under a_0 can match.
        var doubled = PsiElements.SortUnique(Raise(scalars[0], published), 32);
        counter.Feed(doubled);
        var count = counter.Finish(published.Length / 32);
        Assert.Equal(planted.Contains(0) ? 1 : 0, count);
        Assert.True(count < MinCount); // below the minimum: sealed as withheld, the modeller learns only that
    }

    [Fact]
    public void CopiesOfOneRecordUnderDistinctScalars_CountOnce_SoTheMinimumStillWithholds()
    {
        // minCount copies of the target, each under its own scalar (distinct points, so the duplicate check passes), with the
        // double-blinded set raised by the first scalar as the size check demands: at most one copy matches.
        var random = new DeterministicTestRandom(46);
        using var pod = new EcdhPsiServer(PsiMode.Cardinality, random);
        byte[][] podRecords = [Target, .. Enumerable.Range(0, 30).Select(i => new[] { (byte)i, (byte)7 })];
        var published = PsiElements.SortUnique(pod.EncodeServerBatch(podRecords), 32);
        var scalars = Enumerable.Range(0, MinCount).Select(_ => Ristretto255.RandomScalar(random)).ToArray();
        var counter = new PodCardinalityCounter();
        var guard = new PsiQueryGuard(pod.BeginQuery(MinCount), MinCount, 32);
        counter.AddAnswers(guard.Respond(scalars.SelectMany(a => Mul(a, H(Target))).ToArray()));
        guard.Complete();
        counter.Feed(PsiElements.SortUnique(Raise(scalars[0], published), 32));
        Assert.Equal(1, counter.Finish(published.Length / 32));
    }

    [Fact]
    public void ADoubleBlindedSetWithRepeatsOrTheWrongSize_IsRefusedBeforeACountExists()
    {
        var random = new DeterministicTestRandom(47);
        using var pod = new EcdhPsiServer(PsiMode.Cardinality, random);
        var published = PsiElements.SortUnique(pod.EncodeServerBatch([.. Enumerable.Range(0, 8).Select(i => new[] { (byte)i })]), 32);
        var a = Ristretto255.RandomScalar(random);
        var doubled = PsiElements.SortUnique(Raise(a, published), 32);

        // The same element twice (to weigh one record several times) is out of order.
        var repeated = doubled.AsSpan(0, 32).ToArray().Concat(doubled.AsSpan(0, 32).ToArray()).ToArray();
        Assert.Equal(ProtocolError.Duplicate, Assert.Throws<MessageRejectedException>(() => new PodCardinalityCounter().Feed(repeated)).Error);

        // One element more or less than the pod published.
        var shorter = new PodCardinalityCounter();
        shorter.Feed(doubled.AsSpan(32));
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => shorter.Finish(published.Length / 32)).Error);
        var longer = new PodCardinalityCounter();
        longer.Feed(doubled);
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => longer.Finish((published.Length / 32) - 1)).Error);
    }

    private static byte[] Target => "target@example.org"u8.ToArray();

    private static byte[] H(byte[] record)
    {
        var point = new byte[32];
        RistrettoOprf.HashToGroup(record, point);
        return point;
    }

    private static byte[] Mul(byte[] scalar, byte[] point)
    {
        var result = new byte[32];
        Ristretto255.Multiply(scalar, point, result);
        return result;
    }

    private static byte[] Raise(byte[] scalar, byte[] flat) => [.. flat.Chunk(32).SelectMany(e => Mul(scalar, e))];
}
