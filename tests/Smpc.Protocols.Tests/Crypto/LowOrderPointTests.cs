using Smpc.Protocols.Crypto;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.Federated;
using Smpc.Protocols.SecureAggregation;
using Smpc.Protocols.Tests.SecureAggregation;

namespace Smpc.Protocols.Tests.Crypto;

/// <summary>
/// Every encoding of a low-order X25519 point (0, 1, p − 1, the two order-8 points, the non-canonical p and p + 1, each with
/// and without bit 255) is refused wherever a peer's key enters: agreement, sealed boxes both ways, key bundles, the
/// modeller key M and federated member keys.
/// </summary>
public sealed class LowOrderPointTests
{
    private static readonly VectorLayout Layout = VectorLayout.Single(FieldSpec.Integer("c", 2, 0, 10));

    /// <summary>The 14 encodings: 0, 1, p − 1, the two order-8 points, p and p + 1, each with and without bit 255.</summary>
    public static TheoryData<string> LowOrderEncodings => new(
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");

    [Theory]
    [MemberData(nameof(LowOrderEncodings))]
    public void LowOrderKey_GivesAKnownSharedSecret_AndIsRefusedEverywhere(string hex)
    {
        var point = Hex.Bytes(hex);
        var random = new DeterministicTestRandom(61);
        using var own = X25519KeyPair.Generate(random);

        // Why: the raw RFC 7748 function maps every such point to the all-zero secret whatever the private key.
        Assert.Equal(new byte[32], X25519KeyPair.ScalarMult(own.PrivateKey, point));
        Assert.True(X25519KeyPair.IsLowOrder(point));
        Assert.Equal(ProtocolError.LowOrderPoint, Assert.Throws<CryptographicCheckException>(() => own.Agree(point)).Error);

        Assert.Equal(ProtocolError.LowOrderPoint, Assert.Throws<CryptographicCheckException>(() => SealedBox.Seal(point, "x"u8, [], random)).Error);
        var box = SealedBox.Seal(own.PublicKey, "x"u8, [], random);
        point.CopyTo(box, 0);
        Assert.Equal(ProtocolError.LowOrderPoint, Assert.Throws<CryptographicCheckException>(() => SealedBox.Open(own, box, [])).Error);
        Assert.Equal(ProtocolError.LowOrderPoint, Assert.Throws<CryptographicCheckException>(
            () => FederatedChannel.SealContentKey(new byte[32], point, "t", "s", "pod", random)).Error);
    }

    [Theory]
    [MemberData(nameof(LowOrderEncodings))]
    public void KeyBundle_WithALowOrderKey_SignedByItsOwnPod_IsRefusedByPeersAndTheModeller(string hex)
    {
        var point = Hex.Bytes(hex);
        using var s = new SessionHarness(3, 2, Layout, seed: 62);
        var bundles = s.Parties.Select(p => p.CreateKeyBundle()).ToArray();

        // A deviating pod 3 signs a low-order key with its real, pinned identity: the signature is good, the key is not.
        foreach (var (seal, mask) in new[] { (point, bundles[2].MaskKey), (bundles[2].SealKey, point) })
        {
            var bad = bundles[2] with { SealKey = seal, MaskKey = mask, Signature = s.Identities[2].Sign(KeyBundle.SignedBytes(s.Parameters, 3, seal, mask)) };
            Assert.True(bad.VerifySignature(s.Parameters));
            var ex = Assert.Throws<CryptographicCheckException>(() => s[1].CreateShareEnvelopes([bundles[0], bundles[1], bad]));
            Assert.Equal(ProtocolError.LowOrderPoint, ex.Error);
            Assert.Contains("party 3", ex.Message, StringComparison.Ordinal);
            Assert.Equal(SecureAggregationParty.Step.KeysPublished, s[1].State);
            using var unmasker = new SecureAggregationUnmasker(s.Parameters, s.Modeller, s.Pins);
            Assert.Equal(ProtocolError.LowOrderPoint, Assert.Throws<CryptographicCheckException>(() => unmasker.AcceptKeyBundles([bundles[0], bundles[1], bad])).Error);
        }
    }

    [Theory]
    [MemberData(nameof(LowOrderEncodings))]
    public void Party_RefusesToJoin_WhenTheModellerKeyIsALowOrderPoint(string hex)
    {
        var parameters = SessionParameters.Create("s", 3, Layout, Hex.Bytes(hex));
        var random = new DeterministicTestRandom(63);
        using var identity = Ed25519KeyPair.Generate(random);
        var ex = Assert.Throws<CryptographicCheckException>(() => new SecureAggregationParty(parameters, 1, identity, random, new Dictionary<int, string> { [1] = identity.Fingerprint }));
        Assert.Equal(ProtocolError.LowOrderPoint, ex.Error);
        Assert.Contains("modeller", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0900000000000000000000000000000000000000000000000000000000000000")] // the base point
    [InlineData("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")] // RFC 7748 §6.1, Bob
    [InlineData("ebffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")] // p − 2, next to p − 1
    [InlineData("0200000000000000000000000000000000000000000000000000000000000000")] // 2, next to 1
    public void OrdinaryKeys_AreNotLowOrder(string hex) => Assert.False(X25519KeyPair.IsLowOrder(Hex.Bytes(hex)));
}
