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
        var serverSet = pod.EncodeServerSet(server);
        Assert.Equal(server.Length - 1, serverSet.Length);
        var result = modeller.Finish(pod.Respond(modeller.Blind(client)), serverSet);
        Assert.Equal(planted, result.MatchedIndices);
    }

    [Fact]
    public void CardinalityMode_CountsThePlantedRecords_FromShuffledReplies()
    {
        var (client, server, planted) = PsiTestData.Make(100, 50, seed: 12);
        var random = new DeterministicTestRandom(12);
        using var pod = new EcdhPsiServer(PsiMode.Cardinality, random);
        using var modeller = new EcdhPsiClient(PsiMode.Cardinality, random);
        var blinded = modeller.Blind(client);
        var replies = pod.Respond(blinded);
        var result = modeller.Finish(replies, pod.EncodeServerSet(server));
        Assert.Equal(planted.Length, result.Count);
        Assert.Null(result.MatchedIndices);
    }

    [Fact]
    public void Server_RefusesInvalidPointsAndTheIdentity()
    {
        using var pod = new EcdhPsiServer(PsiMode.Intersection, new DeterministicTestRandom(13));
        var identity = new byte[32];
        var notCanonical = Enumerable.Repeat((byte)0xFF, 32).ToArray();
        foreach (var bad in new[] { identity, notCanonical, new byte[31] })
        {
            var ex = Assert.Throws<CryptographicCheckException>(() => pod.Respond([bad]));
            Assert.Equal(ProtocolError.InvalidElement, ex.Error);
        }
    }

    [Fact]
    public void Client_RefusesInvalidPointsInTheServerSet()
    {
        var random = new DeterministicTestRandom(14);
        using var pod = new EcdhPsiServer(PsiMode.Intersection, random);
        using var modeller = new EcdhPsiClient(PsiMode.Intersection, random);
        var replies = pod.Respond(modeller.Blind([[1]]));
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
}
