using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

public sealed class EcdhPsiTests
{
    [Fact]
    public void IntersectionMode_FindsExactlyThePlantedRecords()
    {
        var (client, server, planted) = PsiTestData.Make(120, 80, seed: 11);
        var random = new DeterministicTestRandom(11);
        using var pod = new EcdhPsiServer(PsiMode.Intersection, random);
        using var modeller = new EcdhPsiClient(PsiMode.Intersection, random);
        var serverSet = PodAnswers.EncodedSet(pod, server);
        Assert.Equal(server.Length - 1, serverSet.Length);
        var result = modeller.Finish(PodAnswers.Answer(pod, modeller.Blind(client)), serverSet);
        Assert.Equal(planted, result.MatchedIndices);
    }

    [Fact]
    public void CardinalityMode_CountsThePlantedRecords()
    {
        var (client, server, planted) = PsiTestData.Make(100, 50, seed: 12);
        var random = new DeterministicTestRandom(12);
        using var pod = new EcdhPsiServer(PsiMode.Cardinality, random);
        using var modeller = new EcdhPsiClient(PsiMode.Cardinality, random);
        var blinded = modeller.Blind(client);
        var replies = PodAnswers.Answer(pod, blinded);
        var result = modeller.Finish(replies, PodAnswers.EncodedSet(pod, server));
        Assert.Equal(planted.Length, result.Count);
        Assert.Null(result.MatchedIndices);
    }

    [Fact]
    public void Server_RefusesInvalidPointsAndTheIdentity()
    {
        using var pod = new EcdhPsiServer(PsiMode.Intersection, new DeterministicTestRandom(13));
        var identity = new byte[32];
        var notCanonical = Enumerable.Repeat((byte)0xFF, 32).ToArray();
        foreach (var bad in new[] { identity, notCanonical })
        {
            using var fresh = new EcdhPsiServer(PsiMode.Intersection, new DeterministicTestRandom(13));
            var ex = Assert.Throws<CryptographicCheckException>(() => PodAnswers.Answer(fresh, [bad]));
            Assert.Equal(ProtocolError.InvalidElement, ex.Error);
        }

        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => PodAnswers.Answer(pod, [new byte[31]])).Error);
    }

    [Fact]
    public void Client_RefusesInvalidPointsInTheServerSet()
    {
        var random = new DeterministicTestRandom(14);
        using var pod = new EcdhPsiServer(PsiMode.Intersection, random);
        using var modeller = new EcdhPsiClient(PsiMode.Intersection, random);
        var replies = PodAnswers.Answer(pod, modeller.Blind([[1]]));
        var ex = Assert.Throws<CryptographicCheckException>(() => modeller.Finish(replies, [new byte[32]]));
        Assert.Equal(ProtocolError.InvalidElement, ex.Error);
    }

    [Fact]
    public void HashToGroup_IsDeterministicAndValid()
    {
        var a = new byte[32];
        var b = new byte[32];
        Ristretto255.HashToGroup("alice"u8, a);
        Ristretto255.HashToGroup("alice"u8, b);
        Assert.Equal(a, b);
        Assert.True(Ristretto255.IsValid(a));
        Ristretto255.HashToGroup("bob"u8, b);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void ElementLists_RoundTrip_AndWrongSizesAreMalformed()
    {
        byte[][] elements = [new byte[32], Enumerable.Repeat((byte)7, 32).ToArray()];
        var bytes = PsiElements.Serialize(elements, 32);
        Assert.Equal(elements, PsiElements.Deserialize(bytes, 32));
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => PsiElements.Deserialize(bytes, 256)).Error);
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => PsiElements.Deserialize(bytes.AsSpan(0, bytes.Length - 1), 32)).Error);
    }

    [Fact]
    public void Server_AnswersOneQueryPerSession_ASecondIsRefused()
    {
        var random = new DeterministicTestRandom(15);
        using var pod = new EcdhPsiServer(PsiMode.Intersection, random, maxQuerySize: 10);
        using var modeller = new EcdhPsiClient(PsiMode.Intersection, random);
        var blinded = modeller.Blind([.. Enumerable.Range(0, 10).Select(i => new[] { (byte)i })]);
        Assert.Equal(10, PodAnswers.Answer(pod, blinded).Length);

        // Ten more candidates under the same secret b would double the pod's query budget.
        using var second = new EcdhPsiClient(PsiMode.Intersection, random);
        var more = second.Blind([.. Enumerable.Range(10, 10).Select(i => new[] { (byte)i })]);
        Assert.Equal(ProtocolError.OutOfOrder, Assert.Throws<MessageRejectedException>(() => PodAnswers.Answer(pod, more)).Error);
        Assert.Equal(ProtocolError.OutOfOrder, Assert.Throws<MessageRejectedException>(() => PodAnswers.Answer(pod, blinded)).Error);
    }

    [Fact]
    public void Server_OversizeQuery_DoesNotUseUpTheSession()
    {
        var random = new DeterministicTestRandom(16);
        using var pod = new EcdhPsiServer(PsiMode.Intersection, random, maxQuerySize: 2);
        using var modeller = new EcdhPsiClient(PsiMode.Intersection, random);
        var blinded = modeller.Blind([[1], [2], [3]]);
        Assert.Equal(ProtocolError.PolicyRefused, Assert.Throws<ProtocolException>(() => PodAnswers.Answer(pod, blinded)).Error);
        Assert.Equal(2, PodAnswers.Answer(pod, blinded[..2]).Length);
    }
}
