using System.Security.Cryptography;
using Utf8 = System.Text.Encoding;
using Smpc.Protocols.Webhooks;

namespace Smpc.Protocols.Tests.Webhooks;

/// <summary>Standard Webhooks signatures: the specification's published example, an independent recomputation, verification and secrets.</summary>
public sealed class WebhookSignatureTests
{
    // The example the Standard Webhooks specification and its reference libraries publish (also used by Svix's test suites).
    private const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string MessageId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long Timestamp = 1614265330;
    private const string Body = "{\"test\": 2432232314}";
    private const string Expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    [Fact]
    public void Sign_PublishedExample_MatchesTheSpecification() =>
        Assert.Equal(Expected, WebhookSignature.FromSecret(Secret).Sign(MessageId, Timestamp, Body));

    [Fact]
    public void Sign_EqualsAnIndependentHmacOfIdTimestampAndBody()
    {
        var key = RandomNumberGenerator.GetBytes(40);
        var secret = "whsec_" + Convert.ToBase64String(key);
        var body = "{\"type\":\"session.completed\",\"data\":{\"tenant\":\"t\"}}";
        var mac = HMACSHA256.HashData(key, Utf8.UTF8.GetBytes($"msg_abc.1700000000.{body}"));
        Assert.Equal("v1," + Convert.ToBase64String(mac), WebhookSignature.FromSecret(secret).Sign("msg_abc", 1700000000, body));
    }

    [Fact]
    public void Verify_AcceptsAnyMatchingSignatureAmongSeveral_AndRefusesTampering()
    {
        var signer = WebhookSignature.FromSecret(Secret);
        var body = Utf8.UTF8.GetBytes(Body);
        Assert.True(signer.Verify(MessageId, Timestamp, body, Expected));
        Assert.True(signer.Verify(MessageId, Timestamp, body, "v1,bm9wZQ== " + Expected));
        Assert.False(signer.Verify(MessageId, Timestamp + 1, body, Expected));
        Assert.False(signer.Verify("msg_other", Timestamp, body, Expected));
        Assert.False(signer.Verify(MessageId, Timestamp, Utf8.UTF8.GetBytes("{\"test\": 2432232315}"), Expected));
        Assert.False(signer.Verify(MessageId, Timestamp, body, "v2," + Expected[3..]));
        Assert.False(WebhookSignature.FromSecret(WebhookSignature.NewSecret()).Verify(MessageId, Timestamp, body, Expected));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false)] // no prefix
    [InlineData("whsec_c2hvcnQ=", false)] // 5 bytes
    [InlineData("whsec_not base64!", false)]
    [InlineData(Secret, true)] // 24 bytes
    public void IsValidSecret_NeedsThePrefixAndBase64Of24To64Bytes(string? secret, bool valid) => Assert.Equal(valid, WebhookSignature.IsValidSecret(secret));

    [Fact]
    public void NewSecret_IsValidAndRandom()
    {
        var a = WebhookSignature.NewSecret();
        Assert.True(WebhookSignature.IsValidSecret(a));
        Assert.NotEqual(a, WebhookSignature.NewSecret());
        Assert.False(WebhookSignature.IsValidSecret("whsec_" + Convert.ToBase64String(new byte[65])));
    }
}
