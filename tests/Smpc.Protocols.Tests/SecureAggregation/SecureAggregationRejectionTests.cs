using Smpc.Protocols.Crypto;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Tests.SecureAggregation;

public sealed class SecureAggregationRejectionTests
{
    private static readonly VectorLayout Layout = VectorLayout.Single(FieldSpec.Integer("c", 4, -100, 100));
    private static readonly double[] Input = [1, 2, 3, 4];

    [Fact]
    public void MaskedInput_BeforeShareExchange_IsOutOfOrder()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 1);
        s[1].CreateKeyBundle();
        var ex = Assert.Throws<MessageRejectedException>(() => s[1].CreateMaskedInput([], Input));
        Assert.Equal(ProtocolError.OutOfOrder, ex.Error);
    }

    [Fact]
    public void KeyBundle_WithForgedSignature_IsRejected()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 2);
        var bundles = Bundles(s);
        bundles[2] = bundles[2] with { MaskKey = bundles[1].MaskKey };
        var ex = Assert.Throws<CryptographicCheckException>(() => s[1].CreateShareEnvelopes(bundles));
        Assert.Equal(ProtocolError.BadSignature, ex.Error);
    }

    [Fact]
    public void KeyBundle_SignedByAnUnpinnedIdentity_IsRejected()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 3);
        var bundles = Bundles(s);
        using var impostor = Ed25519KeyPair.Generate(s.Random);
        var b = bundles[2];
        bundles[2] = b with { IdentityKey = impostor.PublicKey, Signature = impostor.Sign(KeyBundle.SignedBytes(s.Parameters, b.Party, b.SealKey, b.MaskKey)) };
        var ex = Assert.Throws<CryptographicCheckException>(() => s[1].CreateShareEnvelopes(bundles));
        Assert.Equal(ProtocolError.IdentityMismatch, ex.Error);
    }

    [Fact]
    public void KeyBundles_Duplicated_OrTooFew_AreRejected()
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 4);
        var bundles = Bundles(s);
        Assert.Equal(ProtocolError.Duplicate, Assert.Throws<MessageRejectedException>(() => s[1].CreateShareEnvelopes([.. bundles, bundles[1]])).Error);
        Assert.Equal(ProtocolError.InsufficientParties, Assert.Throws<ProtocolException>(() => s[1].CreateShareEnvelopes(bundles[..2])).Error);
    }

    [Fact]
    public void ShareEnvelope_RelabelledAsAnotherSender_FailsToOpen()
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 5);
        var envelopes = Exchange(s);
        var toOne = envelopes.Where(e => e.To == 1).ToList();
        toOne[0] = toOne[0] with { From = toOne[1].From };
        toOne.RemoveAt(1);
        var ex = Assert.Throws<CryptographicCheckException>(() => s[1].CreateMaskedInput(toOne, Input));
        Assert.Equal(ProtocolError.SenderNotAuthenticated, ex.Error);
    }

    [Fact]
    public void ShareEnvelope_DeliveredTwice_IsDuplicate_AndStateIsUnchanged()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 6);
        var envelopes = Exchange(s).Where(e => e.To == 1).ToList();
        var ex = Assert.Throws<MessageRejectedException>(() => s[1].CreateMaskedInput([.. envelopes, envelopes[0]], Input));
        Assert.Equal(ProtocolError.Duplicate, ex.Error);
        Assert.Equal(SecureAggregationParty.Step.SharesSent, s[1].State);
        Assert.NotNull(s[1].CreateMaskedInput(envelopes, Input));
    }

    [Fact]
    public void OutOfBoundsInput_IsRefused_BeforeAnythingIsMasked()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 7);
        var envelopes = Exchange(s).Where(e => e.To == 1).ToList();
        var ex = Assert.Throws<InputRejectedException>(() => s[1].CreateMaskedInput(envelopes, [1, 2, 3, 101]));
        Assert.Equal(ProtocolError.ValueOutOfBounds, ex.Error);
        Assert.Equal("c", ex.Field);
    }

    [Theory]
    [InlineData("c", 101)]
    [InlineData("c", -101)]
    [InlineData("w", 10_000_000_001)]
    [InlineData("w", -10_000_000_001)]
    public void EncodedInput_OutsideItsFieldsScaledBounds_IsRefused_NamingTheField(string field, long scaled)
    {
        // c: integers in [−100, 100]; w: reals in [−1, 1] at precision 10^10, i.e. scaled values in ±10^10.
        var layout = new VectorLayout([FieldSpec.Integer("c", 2, -100, 100), FieldSpec.Real("w", 2, -1, 1)]);
        using var s = new SessionHarness(3, null, layout, seed: 14);
        var envelopes = Exchange(s).Where(e => e.To == 1).ToList();
        var f = s.Parameters.Field;
        var encoded = new[] { f.FromSigned(-100), f.FromSigned(100), f.FromSigned(-10_000_000_000), f.FromSigned(10_000_000_000) };
        encoded[field == "c" ? 1 : 3] = f.FromSigned(scaled);

        var ex = Assert.Throws<InputRejectedException>(() => s[1].CreateMaskedInputFromEncoded(envelopes, encoded));
        Assert.Equal(ProtocolError.ValueOutOfBounds, ex.Error);
        Assert.Equal(field, ex.Field);
        Assert.DoesNotContain(scaled.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
        Assert.Equal(SecureAggregationParty.Step.SharesSent, s[1].State);

        // The extremes themselves are what Encode produces for min and max: accepted.
        var extremes = new[] { f.FromSigned(-100), f.FromSigned(100), f.FromSigned(-10_000_000_000), f.FromSigned(10_000_000_000) };
        Assert.Equal(4, s[1].CreateMaskedInputFromEncoded(envelopes, extremes).Length);
    }

    [Fact]
    public void UnmaskRequest_ThatContradictsAnEarlierOne_IsRefused_ButARetryGetsTheSameAnswer()
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 8);
        var envelopes = Exchange(s);
        foreach (var i in new[] { 1, 2, 3, 4 })
        {
            s[i].CreateMaskedInput([.. envelopes.Where(e => e.To == i)], Input);
        }

        var first = new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3, 4], [1, 2, 3]);
        var answer = s[1].CreateUnmaskResponse(first);
        Assert.Same(answer, s[1].CreateUnmaskResponse(new UnmaskRequest(s.Parameters.SessionId, [4, 3, 2, 1], [3, 2, 1])));

        // Now asking as if 4 survived and 3 dropped would reveal both kinds of share for 3 and 4.
        var second = new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3, 4], [1, 2, 4]);
        var ex = Assert.Throws<MessageRejectedException>(() => s[1].CreateUnmaskResponse(second));
        Assert.Equal(ProtocolError.Contradictory, ex.Error);
    }

    [Fact]
    public void UnmaskRequest_WithSendersOtherThanTheEnvelopesReceived_IsContradictory()
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 9);
        var envelopes = Exchange(s);
        s[1].CreateMaskedInput([.. envelopes.Where(e => e.To == 1)], Input);
        var ex = Assert.Throws<MessageRejectedException>(() => s[1].CreateUnmaskResponse(new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3], [1, 2, 3])));
        Assert.Equal(ProtocolError.Contradictory, ex.Error);
    }

    [Fact]
    public void UnmaskRequest_WithFewerSurvivorsThanThreshold_IsRefused()
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 10);
        var envelopes = Exchange(s);
        s[1].CreateMaskedInput([.. envelopes.Where(e => e.To == 1)], Input);
        var ex = Assert.Throws<ProtocolException>(() => s[1].CreateUnmaskResponse(new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3, 4], [1, 2])));
        Assert.Equal(ProtocolError.InsufficientParties, ex.Error);
    }

    [Fact]
    public void Summer_RefusesDuplicateUnknownWrongLengthAndNonCanonicalChunks()
    {
        using var s = new SessionHarness(3, null, VectorLayout.Single(FieldSpec.Integer("c", 10, -5, 5)), seed: 11, chunkElements: 4);
        var summer = new MaskedInputSummer(s.Parameters, [1, 2]);
        var id = s.Parameters.SessionId;
        summer.Accept(new MaskedInputChunk(id, 1, 0, [1, 2, 3, 4]));
        Assert.Equal(ProtocolError.Duplicate, Assert.Throws<MessageRejectedException>(() => summer.Accept(new MaskedInputChunk(id, 1, 0, [1, 2, 3, 4]))).Error);
        Assert.Equal(ProtocolError.UnknownParty, Assert.Throws<MessageRejectedException>(() => summer.Accept(new MaskedInputChunk(id, 3, 0, [1, 2, 3, 4]))).Error);
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => summer.Accept(new MaskedInputChunk(id, 1, 2, [1, 2, 3, 4]))).Error);
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => summer.Accept(new MaskedInputChunk(id, 2, 0, [1, 2, 3, ulong.MaxValue]))).Error);
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => summer.Accept(new MaskedInputChunk("other", 2, 0, [1, 2, 3, 4]))).Error);
        Assert.Equal(ProtocolError.OutOfOrder, Assert.Throws<MessageRejectedException>(summer.GetSum).Error);
    }

    [Fact]
    public void Unmasker_RefusesDuplicateAndNonSurvivorResponses_AndFinishingBelowThreshold()
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 12);
        var bundles = Bundles(s);
        var envelopes = bundles.SelectMany(b => s[b.Party].CreateShareEnvelopes(bundles)).ToList();
        foreach (var i in new[] { 1, 2, 3 })
        {
            s[i].CreateMaskedInput([.. envelopes.Where(e => e.To == i)], Input);
        }

        var request = new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3, 4], [1, 2, 3]);
        var unmasker = new SecureAggregationUnmasker(s.Parameters, s.Modeller, s.Pins);
        Assert.Equal(ProtocolError.OutOfOrder, Assert.Throws<MessageRejectedException>(() => unmasker.AcceptUnmaskRequest(request)).Error);
        unmasker.AcceptKeyBundles(bundles);
        unmasker.AcceptUnmaskRequest(request);
        var r1 = s[1].CreateUnmaskResponse(request);
        unmasker.AcceptResponse(r1);
        Assert.Equal(ProtocolError.Duplicate, Assert.Throws<MessageRejectedException>(() => unmasker.AcceptResponse(r1)).Error);
        Assert.Equal(ProtocolError.UnknownParty, Assert.Throws<MessageRejectedException>(() => unmasker.AcceptResponse(r1 with { Party = 4 })).Error);
        Assert.Equal(ProtocolError.DecryptionFailed, Assert.Throws<CryptographicCheckException>(() => unmasker.AcceptResponse(r1 with { Party = 2 })).Error);
        unmasker.AcceptResponse(s[2].CreateUnmaskResponse(request));
        Assert.Equal(ProtocolError.InsufficientShares, Assert.Throws<ProtocolException>(() => unmasker.Finish(new ulong[4])).Error);
    }

    [Theory]
    [InlineData(2, null)]
    [InlineData(4, 2)]
    [InlineData(5, 6)]
    [InlineData(256, null)]
    public void SessionParameters_RefuseTooFewPartiesOrABadThreshold(int n, int? t)
    {
        var ex = Assert.Throws<ProtocolException>(() => SessionParameters.Create("s", n, Layout, new byte[32], t));
        Assert.Equal(ProtocolError.InvalidParameters, ex.Error);
    }

    [Theory]
    [InlineData(3, 2)]
    [InlineData(4, 3)]
    [InlineData(10, 7)]
    [InlineData(20, 14)]
    public void DefaultThreshold_IsTwoThirdsRoundedUp(int n, int t) => Assert.Equal(t, SessionParameters.DefaultThreshold(n));

    [Fact]
    public void Messages_RoundTripThroughTheirBinaryForm_AndTruncationIsMalformed()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 13);
        var bundles = Bundles(s);
        var envelope = s[1].CreateShareEnvelopes(bundles)[0];
        Assert.Equal(bundles[0].ToBytes(), KeyBundle.Parse(bundles[0].ToBytes()).ToBytes());
        Assert.Equal(envelope.ToBytes(), ShareEnvelope.Parse(envelope.ToBytes()).ToBytes());
        var request = new UnmaskRequest("s", [1, 2, 3], [1, 3]);
        Assert.Equal(request.ToBytes(), UnmaskRequest.Parse(request.ToBytes()).ToBytes());
        var chunk = new MaskedInputChunk("s", 2, 5, [1, ulong.MaxValue, 3]);
        Assert.Equal(chunk.Elements, MaskedInputChunk.Parse(chunk.ToBytes()).Elements);

        var bytes = bundles[0].ToBytes();
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => KeyBundle.Parse(bytes.AsSpan(0, bytes.Length - 1))).Error);
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => ShareEnvelope.Parse(bytes)).Error);
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => MaskedInputChunk.Parse(chunk.ToBytes().AsSpan(0, 20))).Error);
    }

    private static KeyBundle[] Bundles(SessionHarness s) => [.. s.Parties.Select(p => p.CreateKeyBundle())];

    private static List<ShareEnvelope> Exchange(SessionHarness s)
    {
        var bundles = Bundles(s);
        return [.. s.Parties.SelectMany(p => p.CreateShareEnvelopes(bundles))];
    }
}
