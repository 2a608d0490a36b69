using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

/// <summary>The batch-by-batch form of both protocols, as the pod agent and modeller client run them over payload chunks.</summary>
public sealed class StreamedPsiTests
{
    [Theory]
    [InlineData(PsiProtocol.Ecdh, 7)]
    [InlineData(PsiProtocol.RsaBlind, 7)]
    [InlineData(PsiProtocol.Ecdh, 1000)]
    public void Intersection_InBatches_FindsThePlantedRecords(PsiProtocol protocol, int batch)
    {
        var (client, server, planted) = PsiTestData.Make(60, 40, seed: 31);
        var random = new DeterministicTestRandom(31);
        using var pod = Server(protocol, PsiMode.Intersection, random);
        var encoded = PsiElements.SortUnique([.. Batches(server, batch).SelectMany(pod.EncodeServerBatch)], 32);
        Assert.Equal((server.Length - 1) * 32, encoded.Length); // the one duplicate is gone

        var (blind, unblind) = Client(protocol, PsiMode.Intersection, random, pod, client);
        var query = Batches(client, batch).Select(blind).ToList();
        var responder = pod.BeginQuery(client.Length);
        var tags = new List<byte>();
        var first = 0;
        foreach (var part in query)
        {
            tags.AddRange(unblind(first, responder.Respond(part)));
            first += part.Length / pod.ElementBytes;
        }

        var matcher = new SortedSetMatcher([.. tags]);
        foreach (var chunk in encoded.Chunk(32 * batch)) matcher.Feed(chunk);
        Assert.Equal(planted, matcher.MatchedIndices());
    }

    [Fact]
    public void EcdhCardinality_CountedByThePod_FromTheDoubleBlindedSet()
    {
        var (client, server, planted) = PsiTestData.Make(80, 30, seed: 32);
        var random = new DeterministicTestRandom(32);
        using var pod = new EcdhPsiServer(PsiMode.Cardinality, random);
        using var modeller = new EcdhPsiClient(PsiMode.Cardinality, random);
        var encoded = PsiElements.SortUnique(pod.EncodeServerBatch(server), 32);
        var doubled = PsiElements.SortUnique(modeller.RaiseBatch(encoded), 32);
        var counter = new PodCardinalityCounter();
        var responder = pod.BeginQuery(client.Length);
        foreach (var part in Batches(client, 7)) counter.AddAnswers(responder.Respond(modeller.BlindBatch(part)));
        foreach (var chunk in doubled.Chunk(32 * 5)) counter.Feed(chunk);
        Assert.Equal(planted.Length, counter.Finish(encoded.Length / 32));
    }

    [Fact]
    public void RsaCardinality_MatchesShuffledSignaturesBackToTheirBlindedValues()
    {
        var (client, server, planted) = PsiTestData.Make(50, 30, seed: 34);
        var random = new DeterministicTestRandom(34);
        using var pod = new RsaPsiServer(PsiMode.Cardinality, random, keyBits: 2048);
        var modeller = new RsaPsiClient(pod.PublicKey, PsiMode.Cardinality, random);
        var encoded = PsiElements.SortUnique(pod.EncodeServerBatch(server), 32);
        var replies = PsiElements.SortUnique(pod.BeginQuery(client.Length).Respond(modeller.BlindBatch(client)), pod.ElementBytes);
        var matcher = new SortedSetMatcher(modeller.UnblindShuffledBatch(replies));
        matcher.Feed(encoded);
        Assert.Equal(planted.Length, matcher.MatchedIndices().Length);
        Assert.Throws<CryptographicCheckException>(() => modeller.UnblindShuffledBatch(replies.AsMemory(0, pod.ElementBytes))); // each value answers once
    }

    [Theory]
    [InlineData(PsiProtocol.Ecdh)]
    [InlineData(PsiProtocol.RsaBlind)]
    public void Server_AnswersOneQueryOnly_AndRefusesOversizeOnes(PsiProtocol protocol)
    {
        using var pod = Server(protocol, PsiMode.Intersection, new DeterministicTestRandom(35), maxQuery: 10);
        Assert.Equal(ProtocolError.PolicyRefused, Assert.Throws<ProtocolException>(() => pod.BeginQuery(11)).Error);
        _ = pod.BeginQuery(10);
        Assert.Equal(ProtocolError.OutOfOrder, Assert.ThrowsAny<ProtocolException>(() => pod.BeginQuery(1)).Error);
    }

    [Theory]
    [InlineData(PsiProtocol.Ecdh)]
    [InlineData(PsiProtocol.RsaBlind)]
    public void Responder_RefusesInvalidElementsAndPartialElements(PsiProtocol protocol)
    {
        using var pod = Server(protocol, PsiMode.Intersection, new DeterministicTestRandom(36));
        var responder = pod.BeginQuery(2);
        Assert.Equal(ProtocolError.InvalidElement, Assert.Throws<CryptographicCheckException>(() => responder.Respond(new byte[pod.ElementBytes])).Error);
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => responder.Respond(new byte[pod.ElementBytes - 1])).Error);
    }

    [Fact]
    public void Matcher_RefusesAnUnsortedPodSet()
    {
        var matcher = new SortedSetMatcher(new byte[32]);
        var two = new byte[64];
        two[0] = 2;
        two[32] = 1;
        Assert.Throws<MessageRejectedException>(() => matcher.Feed(two));
    }

    [Fact]
    public void SortUnique_SortsBytewiseAndDropsDuplicates()
    {
        byte[] flat = [3, 1, 2, 1, 3];
        Assert.Equal([1, 2, 3], PsiElements.SortUnique(flat, 1));
        Assert.True(PsiElements.IsStrictlyAscending(new byte[] { 1, 2, 3 }, 1, [0]));
        Assert.False(PsiElements.IsStrictlyAscending(new byte[] { 1, 2, 3 }, 1, [1]));
    }

    private static IEnumerable<byte[][]> Batches(byte[][] records, int size) => records.Chunk(size);

    private static IPsiServer Server(PsiProtocol protocol, PsiMode mode, DeterministicTestRandom random, int maxQuery = int.MaxValue) =>
        protocol == PsiProtocol.Ecdh ? new EcdhPsiServer(mode, random, maxQuery) : new RsaPsiServer(mode, random, 2048, maxQuerySize: maxQuery);

    private static (Func<byte[][], byte[]> Blind, Func<int, byte[], byte[]> Unblind) Client(PsiProtocol protocol, PsiMode mode, DeterministicTestRandom random, IPsiServer pod, byte[][] records)
    {
        if (protocol == PsiProtocol.Ecdh)
        {
            var ecdh = new EcdhPsiClient(mode, random);
            return (ecdh.BlindBatch, (first, replies) => ecdh.FinalizeBatch(first, records, replies));
        }

        var rsa = new RsaPsiClient(((RsaPsiServer)pod).PublicKey, mode, random);
        return (rsa.BlindBatch, (first, replies) => rsa.UnblindBatch(first, replies));
    }
}
