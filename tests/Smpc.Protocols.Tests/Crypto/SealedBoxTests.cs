using Smpc.Protocols.Crypto;

namespace Smpc.Protocols.Tests.Crypto;

public sealed class SealedBoxTests
{
    [Fact]
    public void Seal_ThenOpen_WithSameAssociatedData_RoundTrips()
    {
        var random = new DeterministicTestRandom(5);
        using var recipient = X25519KeyPair.Generate(random);
        var box = SealedBox.Seal(recipient.PublicKey, "share"u8, "ad"u8, random);
        Assert.Equal(5 + SealedBox.Overhead, box.Length);
        Assert.Equal("share"u8.ToArray(), SealedBox.Open(recipient, box, "ad"u8));
    }

    [Fact]
    public void Open_WithDifferentAssociatedData_FailsWithDecryptionFailed()
    {
        var random = new DeterministicTestRandom(6);
        using var recipient = X25519KeyPair.Generate(random);
        var box = SealedBox.Seal(recipient.PublicKey, "share"u8, "session=1;from=2;to=3"u8, random);
        var ex = Assert.Throws<CryptographicCheckException>(() => SealedBox.Open(recipient, box, "session=1;from=4;to=3"u8));
        Assert.Equal(ProtocolError.DecryptionFailed, ex.Error);
    }

    [Fact]
    public void Open_ByAnotherRecipientOrAfterTampering_Fails()
    {
        var random = new DeterministicTestRandom(7);
        using var recipient = X25519KeyPair.Generate(random);
        using var other = X25519KeyPair.Generate(random);
        var box = SealedBox.Seal(recipient.PublicKey, "share"u8, [], random);
        Assert.Throws<CryptographicCheckException>(() => SealedBox.Open(other, box, []));
        box[40] ^= 1;
        Assert.Throws<CryptographicCheckException>(() => SealedBox.Open(recipient, box, []));
    }
}
