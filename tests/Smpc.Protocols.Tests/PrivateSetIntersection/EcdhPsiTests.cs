using Smpc.Protocols.Crypto;
using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

public sealed class EcdhPsiTests
{
    /// <summary>Encodings every receiver of a ristretto255 element must refuse: the identity and non-canonical ones.</summary>
    public static TheoryData<string, string> BadElements() => new()
    {
        { "identity", new string('0', 64) },
        { "p itself (field element not reduced)", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f" },
        { "negative s (odd)", "01" + new string('0', 62) },
        { "high bit set", new string('0', 62) + "80" },
        { "all ones", new string('f', 64) },
    };

    [Fact]
    public void IntersectionMode_FindsExactlyThePlantedRecords()
    {
        var (client, server, planted) = PsiTestData.Make(120, 80, seed: 11);
        var random = new DeterministicTestRandom(11);
        using var pod = new EcdhPsiServer(PsiMode.Intersection, random);
        using var modeller = new EcdhPsiClient(PsiMode.Intersection, random);
        var serverSet = PodAnswers.EncodedSet(pod, server);
        Assert.Equal(server.Length - 1, serverSet.Length);
        var result = modeller.Finish(client, PodAnswers.Answer(pod, modeller.Blind(client)), serverSet);
        Assert.Equal(planted, result.MatchedIndices);
    }

    [Fact]
    public void Blind_UsesAFreshBlindPerRecord_SoEqualRecordsLookUnrelatedToThePod()
    {
        using var modeller = new EcdhPsiClient(PsiMode.Intersection, new DeterministicTestRandom(17));
        var blinded = modeller.Blind([[1, 2, 3], [1, 2, 3]]);
        Assert.NotEqual(blinded[0], blinded[1]);
    }

    [Fact]
    public void CardinalityMode_CountedByThePod()
    {
        var (client, server, planted) = PsiTestData.Make(100, 50, seed: 12);
        var random = new DeterministicTestRandom(12);
        using var pod = new EcdhPsiServer(PsiMode.Cardinality, random);
        using var modeller = new EcdhPsiClient(PsiMode.Cardinality, random);
        var published = PsiElements.SortUnique(pod.EncodeServerBatch(server), 32);
        var counter = new PodCardinalityCounter();
        var guard = new PsiQueryGuard(pod.BeginQuery(client.Length), client.Length, 32);
        counter.AddAnswers(guard.Respond(modeller.BlindBatch(client)));
        guard.Complete();
        counter.Feed(PsiElements.SortUnique(modeller.RaiseBatch(published), 32));
        Assert.Equal(planted.Length, counter.Finish(published.Length / 32));
    }

    [Theory]
    [MemberData(nameof(BadElements))]
    public void EveryReceiver_RefusesTheIdentityAndNonCanonicalEncodings(string what, string hex)
    {
        var bad = Hex.Bytes(hex);
        Assert.False(Ristretto255.IsValid(bad), what);
        var random = new DeterministicTestRandom(13);

        // The pod answering a query.
        using (var pod = new EcdhPsiServer(PsiMode.Intersection, random))
        {
            Assert.Equal(ProtocolError.InvalidElement, Assert.Throws<CryptographicCheckException>(() => PodAnswers.Answer(pod, [bad])).Error);
        }

        // The modeller finalizing a reply, and raising the pod's set in cardinality mode.
        using (var modeller = new EcdhPsiClient(PsiMode.Intersection, random))
        {
            modeller.Blind([[1]]);
            Assert.Equal(ProtocolError.InvalidElement, Assert.Throws<CryptographicCheckException>(() => modeller.FinalizeBatch(0, [[1]], bad)).Error);
        }

        using (var modeller = new EcdhPsiClient(PsiMode.Cardinality, random))
        {
            Assert.Equal(ProtocolError.InvalidElement, Assert.Throws<CryptographicCheckException>(() => modeller.RaiseBatch(bad)).Error);
        }

        // The pod reading the double-blinded set.
        Assert.Equal(ProtocolError.InvalidElement, Assert.Throws<CryptographicCheckException>(() => new PodCardinalityCounter().Feed(bad)).Error);
    }

    [Fact]
    public void Responder_RefusesAPartialElement()
    {
        using var pod = new EcdhPsiServer(PsiMode.Intersection, new DeterministicTestRandom(13));
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => PodAnswers.Answer(pod, [new byte[31]])).Error);
    }

    [Fact]
    public void HashToGroup_IsRfc9380WithTheOprfDst_DeterministicAndValid()
    {
        var a = new byte[32];
        var b = new byte[32];
        RistrettoOprf.HashToGroup("alice"u8, a);
        RistrettoOprf.HashToGroup("alice"u8, b);
        Assert.Equal(a, b);
        Assert.True(Ristretto255.IsValid(a));
        RistrettoOprf.HashToGroup("bob"u8, b);
        Assert.NotEqual(a, b);
        Ristretto255.HashToGroup("alice"u8, "another DST"u8, b);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void AnInputOverTheOprfLimit_IsRefusedByName()
    {
        var huge = new byte[RistrettoOprf.MaxInputBytes + 1];
        Assert.Equal(ProtocolError.InvalidRecord, Assert.Throws<InputRejectedException>(() => RistrettoOprf.HashToGroup(huge, new byte[32])).Error);
    }

    [Fact]
    public void Version_AnOldPeerIsRefusedByName()
    {
        EcdhPsiVersion.Require("ecdh-oprf-v1", "the pod");
        var none = Assert.Throws<ProtocolException>(() => EcdhPsiVersion.Require(null, "the pod"));
        Assert.Equal(ProtocolError.UnsupportedVersion, none.Error);
        Assert.Contains("unversioned", none.Message);
        Assert.Equal(ProtocolError.UnsupportedVersion, Assert.Throws<ProtocolException>(() => EcdhPsiVersion.Require("ecdh-oprf-v2", "the pod")).Error);
    }

    [Fact]
    public void SealedCount_OnlyTheModellerOpensIt_AndWithheldLooksTheSame()
    {
        var random = new DeterministicTestRandom(18);
        using var modeller = X25519KeyPair.Generate(random);
        using var service = X25519KeyPair.Generate(random);
        var released = SealedPsiCount.Seal(modeller.PublicKey, "s1", withheld: false, 42, random);
        var withheld = SealedPsiCount.Seal(modeller.PublicKey, "s1", withheld: true, 10, random);
        Assert.Equal(SealedPsiCount.SealedBytes, released.Length);
        Assert.Equal(released.Length, withheld.Length); // the service cannot tell them apart by size
        Assert.Equal((false, 42L), SealedPsiCount.Open(modeller, "s1", released));
        Assert.Equal((true, 10L), SealedPsiCount.Open(modeller, "s1", withheld));
        Assert.Equal(ProtocolError.DecryptionFailed, Assert.Throws<CryptographicCheckException>(() => SealedPsiCount.Open(service, "s1", released)).Error);
        Assert.Equal(ProtocolError.DecryptionFailed, Assert.Throws<CryptographicCheckException>(() => SealedPsiCount.Open(modeller, "s2", released)).Error);
    }

    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")] // u = 0
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000")] // u = 1
    [InlineData("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")] // order 8
    public void SealedCount_ToALowOrderCountKey_IsRefused(string key)
    {
        var ex = Assert.Throws<CryptographicCheckException>(() => SealedPsiCount.Seal(Hex.Bytes(key), "s1", false, 1, new DeterministicTestRandom(19)));
        Assert.Equal(ProtocolError.LowOrderPoint, ex.Error);
    }

    [Fact]
    public void Server_AnswersOneQueryPerSession_ASecondIsRefused()
    {
        var random = new DeterministicTestRandom(15);
        using var pod = new EcdhPsiServer(PsiMode.Intersection, random, maxQuerySize: 10);
        using var modeller = new EcdhPsiClient(PsiMode.Intersection, random);
        var blinded = modeller.Blind([.. Enumerable.Range(0, 10).Select(i => new[] { (byte)i })]);
        Assert.Equal(10, PodAnswers.Answer(pod, blinded).Length);

        // Ten more candidates under the same secret k would double the pod's query budget.
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
