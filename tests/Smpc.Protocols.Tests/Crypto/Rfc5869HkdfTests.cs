using Smpc.Protocols.Crypto;

namespace Smpc.Protocols.Tests.Crypto;

/// <summary>RFC 5869 Appendix A known answers (SHA-256 cases 1 and 3).</summary>
public sealed class Rfc5869HkdfTests
{
    [Fact]
    public void TestCase1_BasicSha256()
    {
        var ikm = Hex.Bytes("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        var salt = Hex.Bytes("000102030405060708090a0b0c");
        var info = Hex.Bytes("f0f1f2f3f4f5f6f7f8f9");
        var prk = Hkdf.Extract(ikm, salt);
        Assert.Equal("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5", Hex.Of(prk));
        Assert.Equal(
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
            Hex.Of(Hkdf.DeriveKey(ikm, salt, info, 42)));
    }

    [Fact]
    public void TestCase3_ZeroLengthSaltAndInfo()
    {
        var ikm = Hex.Bytes("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        Assert.Equal("19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04", Hex.Of(Hkdf.Extract(ikm, [])));
        Assert.Equal(
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
            Hex.Of(Hkdf.DeriveKey(ikm, [], [], 42)));
    }
}
