using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.Randomness;
using Xunit;
using BigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

/// <summary>
/// Certified RSA keys (docs/protocols/psi.md, "Certified RSA keys"): the known answers of rsa-psi.json, the proof's round
/// trip, and every refusal with its reason — above all a pod key with 65537 | p − 1, refused before anything is blinded.
/// </summary>
public sealed class RsaKeyCertificationTests
{
    private static readonly RsaKeyBinding Session = new("t-vectors", "psi-kat-1");

    [Fact]
    public void H1AndH2_MatchTheIndependentVectors()
    {
        var vectors = RsaPsiVectors.Root.GetProperty("h1_h2");
        var key = RsaPsiVectors.PublicKey(vectors.GetProperty("key").GetString()!);
        using var pod = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, RsaPsiVectors.PrivateKey("kat-2048"));
        var cases = vectors.GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(4, cases.Count);
        foreach (var c in cases)
        {
            var record = RsaPsiVectors.Field(c, "record");
            var h1 = RsaHashes.FullDomainHash(key, key.ModulusDigest(), record);
            Assert.Equal(Hex.Of(RsaPsiVectors.Field(c, "h1")), Hex.Of(h1));
            Assert.Equal(Hex.Of(RsaPsiVectors.Field(c, "h2")), Hex.Of(RsaHashes.Tag(RsaPsiVectors.Field(c, "signature"))));
            Assert.Equal(Hex.Of(RsaPsiVectors.Field(c, "h2")), Hex.Of(pod.EncodeServerBatch([record])));
        }
    }

    [Fact]
    public void Challenges_AndTheProof_MatchTheIndependentVectors()
    {
        var vectors = RsaPsiVectors.Root.GetProperty("certification");
        var binding = new RsaKeyBinding(vectors.GetProperty("tenant").GetString()!, vectors.GetProperty("session_id").GetString()!);
        var key = RsaPsiVectors.PublicKey("kat-2048");
        var expected = vectors.GetProperty("challenges").EnumerateArray().ToList();
        Assert.Equal(RsaKeyCertification.Rounds, expected.Count);
        Assert.Contains(expected, c => c.GetProperty("attempt").GetInt32() > 0); // the rejection of candidates ≥ n is exercised

        var challenges = RsaKeyCertification.Challenges(key, binding);
        Assert.Equal(expected.Select(c => c.GetProperty("rho").GetString()), challenges.Select(c => Hex.Of(c)));

        using var pod = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, RsaPsiVectors.PrivateKey("kat-2048"));
        var proof = pod.ProveKey(binding);
        Assert.Equal(vectors.GetProperty("proof").GetString(), Hex.Of(proof));
        Assert.Equal(RsaKeyCertification.ProofLength(256), proof.Length);
        Assert.Equal(binding, RsaKeyCertification.Verify(key, proof, binding, 2048).Binding);
    }

    [Theory]
    [InlineData("kat-2048", 2048, RsaSigningBackend.OpenSsl)]
    [InlineData("kat-2048", 2048, RsaSigningBackend.BouncyCastle)]
    [InlineData("kat-3072", 3072, RsaSigningBackend.OpenSsl)]
    public void Proof_RoundTrips_AndTheCertifiedKeyRunsThePsi(string name, int bits, RsaSigningBackend backend)
    {
        var random = new DeterministicTestRandom(11);
        using var pod = new RsaPsiServer(PsiMode.Intersection, random, RsaPsiVectors.PrivateKey(name), backend);
        var binding = new RsaKeyBinding("tenant-a", "session-" + bits);
        var proof = pod.ProveKey(binding);

        var certified = RsaKeyCertification.Verify(RsaPsiPublicKey.ParseFraming(pod.PublicKey.ToBytes()), proof, binding, bits);
        var modeller = new RsaPsiClient(certified, PsiMode.Intersection, random);
        byte[][] mine = [[1], [2], [3]];
        var signed = pod.BeginQuery(3).Respond(modeller.BlindBatch(mine));
        var tags = modeller.UnblindBatch(0, signed);
        Assert.Equal(Hex.Of(pod.EncodeServerBatch([[2]])), Hex.Of(tags.AsSpan(32, 32)));
    }

    [Fact]
    public void MaliciousPod_WithEDividingPMinusOne_IsRefusedBeforeASingleElementIsBlinded()
    {
        var bad = RsaPsiVectors.KeyJson("malicious-2048");
        var n = new BigInteger(1, RsaPsiVectors.Field(bad, "n"));
        var p = new BigInteger(1, RsaPsiVectors.Field(bad, "p"));
        var q = new BigInteger(1, RsaPsiVectors.Field(bad, "q"));
        var e = BigInteger.ValueOf(65537);
        Assert.Equal(BigInteger.Zero, p.Subtract(BigInteger.One).Mod(e)); // 65537 | p − 1: x ↦ x^e is 65537-to-1 on Z_p^*
        var key = new RsaPsiPublicKey(RsaPsiVectors.Field(bad, "n"), RsaPsiVectors.Field(bad, "e"));

        // Why it matters: under this key a blinded value H1(x)·r^e keeps H1(x)^((p−1)/e) mod p whatever r is, a 16-bit
        // fingerprint of the record the pod reads off every query element (shown with the unchecked test-only constructor).
        var exposed = new RsaPsiClient(key, PsiMode.Intersection, new DeterministicTestRandom(1));
        var again = new RsaPsiClient(key, PsiMode.Intersection, new DeterministicTestRandom(2));
        var fingerprint = (Func<byte[], BigInteger>)(b => new BigInteger(1, b).ModPow(p.Subtract(BigInteger.One).Divide(e), p));
        var first = exposed.BlindBatch([[42]]);
        var second = again.BlindBatch([[42]]);
        Assert.NotEqual(Hex.Of(first), Hex.Of(second));
        Assert.Equal(fingerprint(first), fingerprint(second));

        // The pod's best attempt: the e-th roots it can take (d' = e^-1 mod ((p−1)/e)·(q−1)), correct only for challenges
        // that are e-th powers mod p: 1 in 65537 each.
        var dPrime = e.ModInverse(p.Subtract(BigInteger.One).Divide(e).Multiply(q.Subtract(BigInteger.One)));
        var binding = new RsaKeyBinding("tenant-a", "session-bad");
        var proof = new byte[RsaKeyCertification.ProofLength(256)];
        proof[0] = RsaKeyCertification.FormatVersion;
        proof[1] = RsaKeyCertification.Rounds;
        var challenges = RsaKeyCertification.Challenges(key, binding);
        for (var i = 0; i < challenges.Length; i++)
        {
            var sigma = new BigInteger(1, challenges[i]).ModPow(dPrime, n).ToByteArrayUnsigned();
            sigma.CopyTo(proof, 2 + ((i + 1) * 256) - sigma.Length);
        }

        RsaKeyCertification.CheckKey(key, 2048); // its shape is fine: only the proof can catch it
        var blinded = 0;
        var refusal = Assert.Throws<RsaKeyRefusedException>(() =>
        {
            var certified = RsaKeyCertification.Verify(key, proof, binding, 2048);
            blinded = new RsaPsiClient(certified, PsiMode.Intersection, SystemRandomSource.Instance).BlindBatch([[42]]).Length;
        });
        Assert.Equal((RsaKeyRefusal.ProofInvalid, "proof-invalid", ProtocolError.BadSignature), (refusal.Reason, refusal.ReasonCode, refusal.Error));
        Assert.Equal(0, blinded);
    }

    [Fact]
    public void Refusals_NameTheirReason()
    {
        var key = RsaPsiVectors.PublicKey("kat-2048");
        using var pod = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, RsaPsiVectors.PrivateKey("kat-2048"));
        var proof = pod.ProveKey(Session);

        var tampered = proof.ToArray();
        tampered[2 + (3 * 256) + 100] ^= 0x01;
        Refused(RsaKeyRefusal.ProofInvalid, key, tampered, Session);
        Refused(RsaKeyRefusal.ProofInvalid, key, proof, Session with { SessionId = "psi-kat-2" });
        Refused(RsaKeyRefusal.ProofInvalid, key, proof, Session with { Tenant = "t-other" });
        Refused(RsaKeyRefusal.ProofInvalid, key, pod.ProveKey(Session with { SessionId = "psi-kat-2" }), Session);

        Refused(RsaKeyRefusal.ExponentNot65537, key with { Exponent = [3] }, proof, Session);
        Refused(RsaKeyRefusal.ExponentNot65537, key with { Exponent = [0x00, 0x01, 0x00, 0x01] }, proof, Session); // one encoding only
        Refused(RsaKeyRefusal.ExponentNot65537, key with { Exponent = [0x01, 0x00, 0x00, 0x01] }, proof, Session);

        var even = key.Modulus.ToArray();
        even[^1] &= 0xFE;
        Refused(RsaKeyRefusal.EvenModulus, key with { Modulus = even }, proof, Session);

        // n − (n mod 65521), made odd: still 2048 bits, divisible by the largest prime below the bound (and maybe by a smaller one).
        var n = new BigInteger(1, key.Modulus);
        var largest = BigInteger.ValueOf(65521);
        var divisible = n.Subtract(n.Mod(largest));
        divisible = divisible.TestBit(0) ? divisible : divisible.Subtract(largest);
        Refused(RsaKeyRefusal.SmallFactor, key with { Modulus = divisible.ToByteArrayUnsigned() }, proof, Session);
        var three = n.Subtract(n.Mod(BigInteger.Three));
        three = three.TestBit(0) ? three : three.Subtract(BigInteger.Three);
        Refused(RsaKeyRefusal.SmallFactor, key with { Modulus = three.ToByteArrayUnsigned() }, proof, Session, "by 3 ");

        Refused(RsaKeyRefusal.WrongModulusSize, key, proof, Session, declaredBits: 3072);
        Refused(RsaKeyRefusal.WrongModulusSize, key with { Modulus = [0, .. key.Modulus] }, proof, Session);
        Refused(RsaKeyRefusal.ProofMissing, key, null, Session, "update");
        Refused(RsaKeyRefusal.ProofMissing, key, [], Session);
        Refused(RsaKeyRefusal.ProofMalformed, key, proof[..^1], Session);
        Refused(RsaKeyRefusal.ProofMalformed, key, [2, .. proof[1..]], Session);
        Refused(RsaKeyRefusal.ProofMalformed, key, [1, 7, .. proof[2..]], Session);
        var aboveN = proof.ToArray();
        aboveN.AsSpan(2, 256).Fill(0xFF);
        Refused(RsaKeyRefusal.ProofMalformed, key, aboveN, Session, "not below n");

        Assert.Equal(Session, RsaKeyCertification.Verify(key, proof, Session, 2048).Binding);
    }

    [Fact]
    public void ThePod_RefusesToCertifyAKeyTheModellerWouldRefuse()
    {
        var parameters = RsaPsiVectors.PrivateKey("kat-2048");
        parameters.Exponent = [0x01, 0x00, 0x01];
        using var pod = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, parameters);
        Assert.Equal(RsaKeyCertification.ProofLength(256), pod.ProveKey(Session).Length);

        var three = new RsaPsiPublicKey(parameters.Modulus!, [3]);
        var ex = Assert.Throws<RsaKeyRefusedException>(() => RsaKeyCertification.Prove(three, Session, 2048, (_, _) => throw new InvalidOperationException("no root for a refused key")));
        Assert.Equal(RsaKeyRefusal.ExponentNot65537, ex.Reason);
    }

    [Fact]
    public void TheService_StoresAndServesTheProof_CheckingOnlyItsShape()
    {
        var coordinator = new PsiCoordinator(new PsiSessionRules("rsa-blind", true, false, 5, 2048, TimeSpan.FromMinutes(10)));
        var start = coordinator.Start(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var key = RsaPsiVectors.PublicKey("kat-2048").ToBytes();
        using var pod = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, RsaPsiVectors.PrivateKey("kat-2048"));
        var proof = pod.ProveKey(Session);

        var accepted = coordinator.Accept(start, key, false, proof);
        Assert.Equal(proof, accepted.State.KeyProof);
        Assert.False(coordinator.Accept(accepted.State, key, false, proof).Changed);
        Assert.Equal(Smpc.Protocols.Coordination.RefusalKind.Conflict, coordinator.Accept(accepted.State, key, false, null).Refusal!.Kind);
        Assert.Null(coordinator.Accept(start, key, false).Refusal); // an old pod: stored without a proof, refused by the modeller
        var shape = coordinator.Accept(start, key, false, proof[..^1]).Refusal!;
        Assert.Equal(Smpc.Protocols.Coordination.RefusalKind.Invalid, shape.Kind);
        Assert.Contains("2050 bytes", shape.Message);
        var ecdh = new PsiCoordinator(new PsiSessionRules("ecdh", false, false, 5, 0, TimeSpan.FromMinutes(10)));
        Assert.NotNull(ecdh.Accept(ecdh.Start(DateTimeOffset.UnixEpoch), null, false, proof).Refusal);
    }

    private static void Refused(RsaKeyRefusal reason, RsaPsiPublicKey key, byte[]? proof, RsaKeyBinding binding, string? says = null, int declaredBits = 2048)
    {
        var ex = Assert.Throws<RsaKeyRefusedException>(() => RsaKeyCertification.Verify(key, proof, binding, declaredBits));
        Assert.Equal(reason, ex.Reason);
        Assert.Contains($"({ex.ReasonCode})", ex.Message);
        if (says is not null)
        {
            Assert.Contains(says, ex.Message);
        }
    }
}
