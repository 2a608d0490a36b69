using System.Security.Cryptography;
using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

public sealed class RsaBlindSignaturePsiTests
{
    // One 2048-bit key for the whole class keeps the tests fast; key generation itself is tested once.
    private static readonly Lazy<RSAParameters> Key = new(() => RsaPsiServer.GenerateKey(2048));

    [Theory]
    [InlineData(RsaSigningBackend.OpenSsl)]
    [InlineData(RsaSigningBackend.BouncyCastle)]
    public void IntersectionMode_FindsExactlyThePlantedRecords(RsaSigningBackend backend)
    {
        var (client, server, planted) = PsiTestData.Make(60, 40, seed: 1);
        var random = new DeterministicTestRandom(1);
        using var pod = new RsaPsiServer(PsiMode.Intersection, random, Key.Value, backend);
        Assert.Equal(backend, pod.Backend);
        var tags = PodAnswers.EncodedSet(pod, server);
        Assert.Equal(server.Length - 1, tags.Length);

        var modeller = new RsaPsiClient(RsaPsiPublicKey.Parse(pod.PublicKey.ToBytes()), PsiMode.Intersection, random);
        var blinded = modeller.Blind(client);
        var result = modeller.Finish(PodAnswers.Answer(pod, blinded), tags);
        Assert.Equal(planted, result.MatchedIndices);
        Assert.Equal(planted.Length, result.Count);
    }

    [Fact]
    public void CardinalityMode_CountsThePlantedRecords_AndRevealsNoIndices()
    {
        var (client, server, planted) = PsiTestData.Make(50, 30, seed: 2);
        var random = new DeterministicTestRandom(2);
        using var pod = new RsaPsiServer(PsiMode.Cardinality, random, Key.Value);
        var modeller = new RsaPsiClient(pod.PublicKey, PsiMode.Cardinality, random);
        var blinded = modeller.Blind(client);
        var signatures = PodAnswers.Answer(pod, blinded);
        var result = modeller.Finish(signatures, PodAnswers.EncodedSet(pod, server));
        Assert.Equal(planted.Length, result.Count);
        Assert.Null(result.MatchedIndices);
    }

    [Fact]
    public void OpenSslAndBouncyCastle_GiveIdenticalSignatures()
    {
        var random = new DeterministicTestRandom(3);
        using var openSsl = new RsaPsiServer(PsiMode.Intersection, random, Key.Value, RsaSigningBackend.OpenSsl);
        using var bouncy = new RsaPsiServer(PsiMode.Intersection, random, Key.Value, RsaSigningBackend.BouncyCastle);
        var modeller = new RsaPsiClient(openSsl.PublicKey, PsiMode.Intersection, random);
        var blinded = modeller.Blind([.. Enumerable.Range(0, 40).Select(i => BitConverter.GetBytes(i))]);

        // Include the extremes 2 and n − 2.
        var two = new byte[256];
        two[^1] = 2;
        var nMinusTwo = (byte[])Key.Value.Modulus!.Clone();
        nMinusTwo[^1] -= 2;
        blinded = [.. blinded, two, nMinusTwo];
        var signatures = PodAnswers.Answer(openSsl, blinded);
        Assert.Equal(signatures, PodAnswers.Answer(bouncy, blinded));

        // And both equal the textbook m^d mod n.
        var n = new System.Numerics.BigInteger(Key.Value.Modulus, isUnsigned: true, isBigEndian: true);
        var d = new System.Numerics.BigInteger(Key.Value.D, isUnsigned: true, isBigEndian: true);
        var m = new System.Numerics.BigInteger(blinded[0], isUnsigned: true, isBigEndian: true);
        var expected = System.Numerics.BigInteger.ModPow(m, d, n).ToByteArray(isUnsigned: true, isBigEndian: true);
        Assert.Equal(expected, signatures[0].SkipWhile(b => b == 0).ToArray());
    }

    [Fact]
    public void Signer_RefusesZeroOneMinusOneModulusAndWrongLength()
    {
        using var pod = new RsaPsiServer(PsiMode.Intersection, new DeterministicTestRandom(4), Key.Value);
        var zero = new byte[256];
        var one = new byte[256];
        one[^1] = 1;
        var minusOne = (byte[])Key.Value.Modulus!.Clone();
        minusOne[^1]--;
        foreach (var bad in new[] { zero, one, minusOne, Key.Value.Modulus!, Enumerable.Repeat((byte)0xFF, 256).ToArray() })
        {
            using var fresh = new RsaPsiServer(PsiMode.Intersection, new DeterministicTestRandom(4), Key.Value);
            var ex = Assert.Throws<CryptographicCheckException>(() => PodAnswers.Answer(fresh, [bad]));
            Assert.Equal(ProtocolError.InvalidElement, ex.Error);
        }

        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => PodAnswers.Answer(pod, [new byte[255]])).Error);
    }

    [Fact]
    public void Client_RefusesInvalidSignatures_AndForgedOnes()
    {
        var random = new DeterministicTestRandom(5);
        using var pod = new RsaPsiServer(PsiMode.Intersection, random, Key.Value);
        var modeller = new RsaPsiClient(pod.PublicKey, PsiMode.Intersection, random);
        var blinded = modeller.Blind([[1], [2]]);
        var signatures = PodAnswers.Answer(pod, blinded);
        var one = new byte[256];
        one[^1] = 1;
        Assert.Equal(ProtocolError.InvalidElement, Assert.Throws<CryptographicCheckException>(() => modeller.Finish([signatures[0], one], [])).Error);
        Assert.Equal(ProtocolError.BadSignature, Assert.Throws<CryptographicCheckException>(() => modeller.Finish([signatures[1], signatures[0]], [])).Error);
    }

    [Fact]
    public void Signer_EnforcesItsMaximumQuerySize()
    {
        var random = new DeterministicTestRandom(6);
        using var pod = new RsaPsiServer(PsiMode.Intersection, random, Key.Value, maxQuerySize: 2);
        var modeller = new RsaPsiClient(pod.PublicKey, PsiMode.Intersection, random);
        var ex = Assert.Throws<ProtocolException>(() => PodAnswers.Answer(pod, modeller.Blind([[1], [2], [3]])));
        Assert.Equal(ProtocolError.PolicyRefused, ex.Error);
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(2047)]
    [InlineData(8192)]
    public void KeySizesOutside2048To4096_AreRefused(int bits)
    {
        var ex = Assert.Throws<ProtocolException>(() => RsaPsiServer.GenerateKey(bits));
        Assert.Equal(ProtocolError.InvalidParameters, ex.Error);
    }

    [Fact]
    public void FreshKeyPerSession_HasTheRequestedSize()
    {
        using var pod = new RsaPsiServer(PsiMode.Intersection, new DeterministicTestRandom(7), 2048);
        Assert.Equal(256, pod.PublicKey.ModulusBytes);
        using var other = new RsaPsiServer(PsiMode.Intersection, new DeterministicTestRandom(7), 2048);
        Assert.NotEqual(pod.PublicKey.Modulus, other.PublicKey.Modulus);
    }

    [Fact]
    public void FullDomainHash_IsBelowNAndDependsOnTheKey()
    {
        var key = new RsaPsiPublicKey(Key.Value.Modulus!, Key.Value.Exponent!);
        var h = RsaHashes.FullDomainHash(key, key.ModulusDigest(), "x"u8);
        Assert.True(h.AsSpan().SequenceCompareTo(key.Modulus) < 0);
        Assert.NotEqual(h, RsaHashes.FullDomainHash(key, new byte[32], "x"u8));
    }

    [Theory]
    [InlineData(RsaSigningBackend.OpenSsl)]
    [InlineData(RsaSigningBackend.BouncyCastle)]
    public void Signer_SignsOneQueryPerSession_ASecondIsRefused(RsaSigningBackend backend)
    {
        var random = new DeterministicTestRandom(8);
        using var pod = new RsaPsiServer(PsiMode.Intersection, random, Key.Value, backend, maxQuerySize: 3);
        var blinded = new RsaPsiClient(pod.PublicKey, PsiMode.Intersection, random).Blind([[1], [2], [3]]);
        Assert.Equal(3, PodAnswers.Answer(pod, blinded).Length);

        var more = new RsaPsiClient(pod.PublicKey, PsiMode.Intersection, random).Blind([[4], [5], [6]]);
        Assert.Equal(ProtocolError.OutOfOrder, Assert.Throws<MessageRejectedException>(() => PodAnswers.Answer(pod, more)).Error);
        Assert.Equal(ProtocolError.OutOfOrder, Assert.Throws<MessageRejectedException>(() => PodAnswers.Answer(pod, blinded)).Error);
    }

    [Fact]
    public void Signer_OversizeQuery_DoesNotUseUpTheSession()
    {
        var random = new DeterministicTestRandom(9);
        using var pod = new RsaPsiServer(PsiMode.Intersection, random, Key.Value, maxQuerySize: 2);
        var blinded = new RsaPsiClient(pod.PublicKey, PsiMode.Intersection, random).Blind([[1], [2], [3]]);
        Assert.Equal(ProtocolError.PolicyRefused, Assert.Throws<ProtocolException>(() => PodAnswers.Answer(pod, blinded)).Error);
        Assert.Equal(2, PodAnswers.Answer(pod, blinded[..2]).Length);
    }

    [Fact]
    public void Client_FinishesOnce_BecauseItsUnblindingFactorsAreWiped()
    {
        var random = new DeterministicTestRandom(11);
        using var pod = new RsaPsiServer(PsiMode.Intersection, random, Key.Value);
        var modeller = new RsaPsiClient(pod.PublicKey, PsiMode.Intersection, random);
        var signatures = PodAnswers.Answer(pod, modeller.Blind([[1], [2]]));
        var tags = PodAnswers.EncodedSet(pod, [[2]]);
        Assert.Equal([1], modeller.Finish(signatures, tags).MatchedIndices);
        Assert.Equal(ProtocolError.OutOfOrder, Assert.Throws<MessageRejectedException>(() => modeller.Finish(signatures, tags)).Error);
    }
}
