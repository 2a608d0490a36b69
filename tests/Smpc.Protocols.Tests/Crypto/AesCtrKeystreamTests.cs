using Smpc.Protocols.Crypto;

namespace Smpc.Protocols.Tests.Crypto;

/// <summary>NIST SP 800-38A F.5.1 (CTR-AES128.Encrypt) and seeking.</summary>
public sealed class AesCtrKeystreamTests
{
    private const string Key = "2b7e151628aed2a6abf7158809cf4f3c";
    private const string Counter = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    private const string Plaintext = "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710";
    private const string Ciphertext = "874d6191b620e3261bef6864990db6ce 9806f66b7970fdff8617187bb9fffdff 5ae4df3edbd5d35e5b4f09020db03eab 1e031dda2fbe03d1792170a0f3009cee";

    [Fact]
    public void NistSp800_38A_F5_1_Encrypts()
    {
        using var ctr = new AesCtrKeystream(Hex.Bytes(Key), Hex.Bytes(Counter));
        var data = Hex.Bytes(Plaintext);
        ctr.Transform(0, data);
        Assert.Equal(Hex.Bytes(Ciphertext), data);
    }

    [Fact]
    public void Seeking_ToBlockTwo_GivesTheThirdCiphertextBlock()
    {
        using var ctr = new AesCtrKeystream(Hex.Bytes(Key), Hex.Bytes(Counter));
        var data = Hex.Bytes(Plaintext)[32..48];
        ctr.Transform(2, data);
        Assert.Equal(Hex.Bytes(Ciphertext)[32..48], data);
    }

    [Fact]
    public void Counter_CarriesAcrossThe64BitBoundary()
    {
        var iv = Hex.Bytes("0000000000000000ffffffffffffffff");
        using var ctr = new AesCtrKeystream(Hex.Bytes(Key), iv);
        var two = new byte[32];
        ctr.Generate(0, two);
        using var next = new AesCtrKeystream(Hex.Bytes(Key), Hex.Bytes("00000000000000010000000000000000"));
        var one = new byte[16];
        next.Generate(0, one);
        Assert.Equal(one, two[16..]);
    }
}
