using Smpc.Protocols.Crypto;
using Smpc.Protocols.Federated;
using Smpc.Protocols.Signatures;

namespace Smpc.Protocols.Tests.Federated;

/// <summary>The modeller-signed format of sealed content keys and releases (federated.md, "The modeller-to-pods channel").</summary>
public sealed class SignedChannelTests
{
    [Fact]
    public void SignedSeal_IsVersionThenBoxThenSignatureOverTheContentKeyStatement()
    {
        var random = new DeterministicTestRandom(11);
        using var modeller = Ed25519KeyPair.Generate(random);
        using var member = X25519KeyPair.Generate(random);
        var contentKey = FederatedChannel.NewContentKey(random);
        var box = FederatedChannel.SealContentKey(contentKey, member.PublicKey, "t1", "q", "pod-a", random);

        var signed = FederatedChannel.SignContentKeySeal(modeller, "t1", "q", "pod-a", member.PublicKey, box);

        Assert.Equal(FederatedChannel.SignedContentKeySize, signed.Length);
        Assert.Equal(0x01, signed[0]);
        Assert.Equal(box, signed[1..^64]);
        // Independent check: the trailing 64 bytes verify over the statement of signatures.md.
        Assert.True(Ed25519KeyPair.Verify(modeller.PublicKey, ModellerStatements.ContentKeySeal("t1", "q", "pod-a", member.PublicKey, box), signed[^64..]));
        Assert.Equal(box, FederatedChannel.VerifyContentKeySeal(modeller.PublicKey, signed, "t1", "q", "pod-a", member.PublicKey));
    }

    [Fact]
    public void SignedSeal_IsRefusedWhenTamperedForeignOrForAnotherPodSessionOrMemberKey()
    {
        var random = new DeterministicTestRandom(12);
        using var modeller = Ed25519KeyPair.Generate(random);
        using var service = Ed25519KeyPair.Generate(random);
        using var member = X25519KeyPair.Generate(random);
        using var other = X25519KeyPair.Generate(random);
        var box = FederatedChannel.SealContentKey(FederatedChannel.NewContentKey(random), member.PublicKey, "t1", "q", "pod-a", random);
        var signed = FederatedChannel.SignContentKeySeal(modeller, "t1", "q", "pod-a", member.PublicKey, box);

        var tampered = (byte[])signed.Clone();
        tampered[10] ^= 1;
        Bad(() => FederatedChannel.VerifyContentKeySeal(modeller.PublicKey, tampered, "t1", "q", "pod-a", member.PublicKey));
        // The service's own key sealed and signed by the service: not the modeller's signature.
        var forged = FederatedChannel.SignContentKeySeal(service, "t1", "q", "pod-a", member.PublicKey, box);
        Bad(() => FederatedChannel.VerifyContentKeySeal(modeller.PublicKey, forged, "t1", "q", "pod-a", member.PublicKey));
        Bad(() => FederatedChannel.VerifyContentKeySeal(modeller.PublicKey, signed, "t1", "q", "pod-b", member.PublicKey));
        Bad(() => FederatedChannel.VerifyContentKeySeal(modeller.PublicKey, signed, "t1", "q2", "pod-a", member.PublicKey));
        Bad(() => FederatedChannel.VerifyContentKeySeal(modeller.PublicKey, signed, "t2", "q", "pod-a", member.PublicKey));
        Bad(() => FederatedChannel.VerifyContentKeySeal(modeller.PublicKey, signed, "t1", "q", "pod-a", other.PublicKey));
    }

    [Fact]
    public void UnsignedOrUnknownFormats_AreRefusedByName()
    {
        var random = new DeterministicTestRandom(13);
        using var modeller = Ed25519KeyPair.Generate(random);
        using var member = X25519KeyPair.Generate(random);
        var contentKey = FederatedChannel.NewContentKey(random);
        var box = FederatedChannel.SealContentKey(contentKey, member.PublicKey, "t1", "q", "pod-a", random);
        box[0] = 0x02; // never mistaken for version 1 below
        var release = FederatedChannel.SealRelease(contentKey, "t1", "q", "counts", "x"u8, random);
        release[0] = 0x00;

        Malformed(() => FederatedChannel.VerifyContentKeySeal(modeller.PublicKey, box, "t1", "q", "pod-a", member.PublicKey));
        Malformed(() => FederatedChannel.VerifyRelease(modeller.PublicKey, release, "t1", "q", "counts"));
        Malformed(() => FederatedChannel.VerifyRelease(modeller.PublicKey, new byte[10], "t1", "q", "counts"));
        var signed = FederatedChannel.SignRelease(modeller, "t1", "q", "counts", release);
        signed[0] = 0x02;
        Malformed(() => FederatedChannel.VerifyRelease(modeller.PublicKey, signed, "t1", "q", "counts"));
        // A missing signature: the box with the version byte but cut before its 64 signature bytes end.
        var cut = FederatedChannel.SignContentKeySeal(modeller, "t1", "q", "pod-a", member.PublicKey,
            FederatedChannel.SealContentKey(contentKey, member.PublicKey, "t1", "q", "pod-a", random))[..^64];
        Assert.IsAssignableFrom<ProtocolException>(Record.Exception(() => FederatedChannel.VerifyContentKeySeal(modeller.PublicKey, cut, "t1", "q", "pod-a", member.PublicKey)));
    }

    [Fact]
    public void SignedRelease_VerifiesOnlyForItsModellerNameAndSession()
    {
        var random = new DeterministicTestRandom(14);
        using var modeller = Ed25519KeyPair.Generate(random);
        using var service = Ed25519KeyPair.Generate(random);
        var contentKey = FederatedChannel.NewContentKey(random);
        var box = FederatedChannel.SealRelease(contentKey, "t1", "q", "counts", "pooled"u8, random);
        var signed = FederatedChannel.SignRelease(modeller, "t1", "q", "counts", box);

        Assert.Equal(FederatedChannel.SignedOverhead + box.Length, signed.Length);
        Assert.True(Ed25519KeyPair.Verify(modeller.PublicKey, ModellerStatements.Release("t1", "q", "counts", box), signed[^64..]));
        Assert.Equal("pooled"u8.ToArray(), FederatedChannel.OpenRelease(contentKey, "t1", "q", "counts", FederatedChannel.VerifyRelease(modeller.PublicKey, signed, "t1", "q", "counts")));

        Bad(() => FederatedChannel.VerifyRelease(modeller.PublicKey, signed, "t1", "q", "round-1"));
        Bad(() => FederatedChannel.VerifyRelease(modeller.PublicKey, signed, "t1", "q2", "counts"));
        Bad(() => FederatedChannel.VerifyRelease(modeller.PublicKey, FederatedChannel.SignRelease(service, "t1", "q", "counts", box), "t1", "q", "counts"));
        var tampered = (byte[])signed.Clone();
        tampered[5] ^= 0x80;
        Bad(() => FederatedChannel.VerifyRelease(modeller.PublicKey, tampered, "t1", "q", "counts"));
    }

    private static void Bad(Action verify) =>
        Assert.Equal(ProtocolError.BadSignature, Assert.Throws<CryptographicCheckException>(verify).Error);

    private static void Malformed(Action verify) =>
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(verify).Error);
}
