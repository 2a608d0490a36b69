using System.Security.Cryptography;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Federated;

namespace Smpc.Protocols.Tests.Federated;

public sealed class FederatedChannelTests
{
    [Fact]
    public void MemberKeyMessage_IsLabelThenLengthPrefixedIdsThenKey()
    {
        var key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var message = FederatedChannel.MemberKeyMessage("t1", "q", "pod-a", key);
        var expected = "smpc/member-key/v1"u8.ToArray()
            .Concat(new byte[] { 0, 2 }).Concat("t1"u8.ToArray())
            .Concat(new byte[] { 0, 1 }).Concat("q"u8.ToArray())
            .Concat(new byte[] { 0, 5 }).Concat("pod-a"u8.ToArray())
            .Concat(key).ToArray();
        Assert.Equal(expected, message);
    }

    [Fact]
    public void MemberKey_VerifiesOnlyForItsPinnedIdentityAndContext()
    {
        var random = new DeterministicTestRandom(1);
        using var identity = Ed25519KeyPair.Generate(random);
        using var other = Ed25519KeyPair.Generate(random);
        using var member = X25519KeyPair.Generate(random);
        var signature = FederatedChannel.SignMemberKey(identity, "t1", "q", "pod-a", member.PublicKey);

        FederatedChannel.VerifyMemberKey(identity.Fingerprint, identity.PublicKey, "t1", "q", "pod-a", member.PublicKey, signature);
        Assert.Equal(ProtocolError.IdentityMismatch, Assert.Throws<CryptographicCheckException>(() =>
            FederatedChannel.VerifyMemberKey(identity.Fingerprint, other.PublicKey, "t1", "q", "pod-a", member.PublicKey, signature)).Error);
        Assert.Equal(ProtocolError.BadSignature, Assert.Throws<CryptographicCheckException>(() =>
            FederatedChannel.VerifyMemberKey(identity.Fingerprint, identity.PublicKey, "t1", "other-session", "pod-a", member.PublicKey, signature)).Error);
        using var substituted = X25519KeyPair.Generate(random);
        Assert.Equal(ProtocolError.BadSignature, Assert.Throws<CryptographicCheckException>(() =>
            FederatedChannel.VerifyMemberKey(identity.Fingerprint, identity.PublicKey, "t1", "q", "pod-a", substituted.PublicKey, signature)).Error);
    }

    [Fact]
    public void ContentKey_OpensOnlyForItsPodAndSession()
    {
        var random = new DeterministicTestRandom(2);
        using var member = X25519KeyPair.Generate(random);
        var contentKey = FederatedChannel.NewContentKey(random);
        var box = FederatedChannel.SealContentKey(contentKey, member.PublicKey, "t1", "q", "pod-a", random);

        Assert.Equal(contentKey, FederatedChannel.OpenContentKey(member, box, "t1", "q", "pod-a"));
        Assert.Throws<CryptographicCheckException>(() => FederatedChannel.OpenContentKey(member, box, "t1", "q", "pod-b"));
        Assert.Throws<CryptographicCheckException>(() => FederatedChannel.OpenContentKey(member, box, "t2", "q", "pod-a"));
    }

    [Fact]
    public void Release_IsAesGcmUnderTheContentKeyBoundToItsName()
    {
        var random = new DeterministicTestRandom(3);
        var contentKey = FederatedChannel.NewContentKey(random);
        var box = FederatedChannel.SealRelease(contentKey, "t1", "q", "counts", "pooled"u8, random);
        Assert.Equal(6 + FederatedChannel.ReleaseOverhead, box.Length);

        // Independent decryption with the documented layout and associated data.
        var ad = "smpc/release/v1"u8.ToArray().Concat(new byte[] { 0, 2 }).Concat("t1"u8.ToArray())
            .Concat(new byte[] { 0, 1 }).Concat("q"u8.ToArray()).Concat(new byte[] { 0, 6 }).Concat("counts"u8.ToArray()).ToArray();
        var plain = new byte[6];
        using (var gcm = new AesGcm(contentKey, 16)) gcm.Decrypt(box.AsSpan(0, 12), box.AsSpan(12, 6), box.AsSpan(18), plain, ad);
        Assert.Equal("pooled"u8.ToArray(), plain);

        Assert.Equal("pooled"u8.ToArray(), FederatedChannel.OpenRelease(contentKey, "t1", "q", "counts", box));
        Assert.Throws<CryptographicCheckException>(() => FederatedChannel.OpenRelease(contentKey, "t1", "q", "round-1", box));
        box[14] ^= 1;
        Assert.Throws<CryptographicCheckException>(() => FederatedChannel.OpenRelease(contentKey, "t1", "q", "counts", box));
        Assert.Throws<MessageRejectedException>(() => FederatedChannel.OpenRelease(contentKey, "t1", "q", "counts", box.AsSpan(0, 27)));
    }
}
