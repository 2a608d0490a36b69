using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Protocols.Tests.PrivateSetIntersection.Kkrt;

/// <summary>Whole kkrt-v1 sessions on sets with known intersections.</summary>
public sealed class KkrtPsiTests
{
    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(0, 10, 0)]
    [InlineData(10, 0, 0)]
    [InlineData(1, 1, 1)]
    [InlineData(1, 1, 0)]
    [InlineData(100, 100, 100)]
    [InlineData(37, 53, 11)]
    [InlineData(1000, 777, 333)]
    [InlineData(1, 1000, 1)]
    [InlineData(1000, 1, 1)]
    [InlineData(3001, 2999, 1500)]
    public void Intersection_IsExactlyTheCommonItems(int modellerSize, int podSize, int common)
    {
        // The modeller holds 0..n−1; the pod holds the last `common` of them and then items the modeller lacks.
        var modeller = Enumerable.Range(0, modellerSize).ToArray();
        var pod = Enumerable.Range(modellerSize - common, podSize).ToArray();
        var expected = modeller.Select(x => pod.Contains(x)).ToArray();

        var matches = KkrtSession.Run(KkrtSession.Digests(modeller), KkrtSession.Digests(pod), seed: modellerSize + podSize);

        Assert.Equal(expected, matches.Matched);
        Assert.Equal(common, matches.Count);
        Assert.Equal(podSize, matches.PodSetSize);
    }

    [Fact]
    public void Matches_ComeBackInTheModellersOrder_AndMapToEveryDuplicateRow()
    {
        // Rows with repeated records: de-duplicated by digest, matched once, mapped back to every row.
        int[] rows = [5, 9, 5, 2, 7, 9, 9, 11];
        var (distinct, rowToDistinct) = KkrtItems.Distinct(KkrtSession.Digests(rows));
        Assert.Equal(5, distinct.Length / KkrtItems.DigestBytes);

        var matches = KkrtSession.Run(distinct, KkrtSession.Digests([9, 2, 100, 200]));

        var rowMatched = rowToDistinct.Select(d => matches.Matched[d]).ToArray();
        Assert.Equal([false, true, false, true, false, true, true, false], rowMatched);
    }

    [Fact]
    public void ChunkSizes_DoNotChangeTheResult()
    {
        var modeller = KkrtSession.Digests(Enumerable.Range(0, 1600));
        var pod = KkrtSession.Digests(Enumerable.Range(800, 1600));
        foreach (var chunk in new[] { 7, 128, 2049, 5000 })
        {
            var matches = KkrtSession.Run(modeller, pod, seed: 3, chunkBins: chunk);
            Assert.Equal(800, matches.Count);
            Assert.All(Enumerable.Range(0, 1600), k => Assert.Equal(k >= 800, matches.Matched[k]));
        }

        // One row at a time, on a small set.
        var one = KkrtSession.Run(KkrtSession.Digests(Enumerable.Range(0, 20)), KkrtSession.Digests(Enumerable.Range(10, 20)), seed: 4, chunkBins: 1);
        Assert.Equal(10, one.Count);
    }

    [Fact]
    public void Sizes_FollowTheParameters()
    {
        var modeller = KkrtSession.Digests(Enumerable.Range(0, 300));
        using var receiver = new KkrtPsiReceiver(modeller, new DeterministicTestRandom(1));
        using var sender = new KkrtPsiSender(300, new DeterministicTestRandom(2));
        Assert.Equal(KkrtParameters.Bins(300), receiver.Bins);
        Assert.Equal(KkrtParameters.Bins(300), sender.Bins);
        Assert.Equal(KkrtParameters.TagBytes(300), receiver.TagBytes);
        var setup = sender.CreateSetup();
        Assert.Equal(KkrtParameters.SetupBytes, setup.Length);
        receiver.ReadSetup(setup);
        var query = KkrtSession.Query(receiver);
        Assert.Equal(KkrtParameters.QueryBytes(300), query.Length);
        sender.ReadQueryHeader(query.AsSpan(0, KkrtParameters.QueryHeaderBytes));
        sender.ReadQueryRows(0, query.AsSpan(KkrtParameters.QueryHeaderBytes));
        sender.EndQuery();
        var reply = sender.Reply(KkrtSession.Digests(Enumerable.Range(100, 41)));
        Assert.Equal(KkrtParameters.ReplyBytes(300, 41), reply.Length);
        Assert.Equal(41, receiver.Match(reply).Count);
    }

    [Fact]
    public void Digest_IsTheTruncatedLabelledSha256()
    {
        var record = "hello"u8.ToArray();
        var digest = new byte[16];
        KkrtItems.Digest(record, digest);
        var expected = System.Security.Cryptography.SHA256.HashData([.. "smpc/psi/kkrt/v1/item"u8, .. record])[..16];
        Assert.Equal(expected, digest);

        var large = new byte[10_000];
        large[9_999] = 1;
        KkrtItems.Digest(large, digest);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData([.. "smpc/psi/kkrt/v1/item"u8, .. large])[..16], digest);
    }
}
