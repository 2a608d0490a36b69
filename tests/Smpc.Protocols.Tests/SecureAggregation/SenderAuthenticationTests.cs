using Smpc.Protocols.Crypto;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Tests.SecureAggregation;

/// <summary>
/// A cheating relay (the service) rewrites share envelopes and unmask responses: every substitution is refused with
/// <see cref="ProtocolError.SenderNotAuthenticated"/> before the receiver masks with, or the modeller unmasks with, it.
/// </summary>
public sealed class SenderAuthenticationTests
{
    private static readonly VectorLayout Layout = VectorLayout.Single(FieldSpec.Integer("c", 4, -100, 100));

    [Fact]
    public void ServiceSealedEnvelope_ClaimingAPeer_IsRefused_AndNoMaskedInputIsProduced()
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 41);
        var bundles = s.Parties.Select(p => p.CreateKeyBundle()).ToArray();
        var envelopes = s.Parties.SelectMany(p => p.CreateShareEnvelopes(bundles)).ToList();

        // The service knows every public key, so it can make a well-formed envelope "from 2 to 1" carrying shares of its
        // choosing — sealed to C_1 anonymously, or under a key of its own with C_1. Neither opens as from party 2.
        var plaintext = SessionRules.EncodeSharePair(2, 1, 1, new byte[32], new byte[32]);
        var ad = SessionRules.ShareAssociatedData(s.Parameters, 2, 1);
        using var serviceKey = X25519KeyPair.Generate(s.Random);
        var forgedKey = SessionRules.EnvelopeKey(s.Parameters, serviceKey, 2, 1, serviceKey.PublicKey, bundles[0].SealKey);
        byte[][] forgeries =
        [
            SealedBox.Seal(bundles[0].SealKey, plaintext, ad, s.Random),
            PairwiseBox.Seal(forgedKey, plaintext, ad, s.Random),
            [.. envelopes.Single(e => e.From == 2 && e.To == 1).Ciphertext.Select((b, k) => k == 20 ? (byte)(b ^ 1) : b)],
        ];

        foreach (var forged in forgeries)
        {
            var toOne = envelopes.Where(e => e.To == 1).Select(e => e.From == 2 ? e with { Ciphertext = forged } : e).ToList();
            var ex = Assert.Throws<CryptographicCheckException>(() => s[1].CreateMaskedInput(toOne, [1, 2, 3, 4]));
            Assert.Equal(ProtocolError.SenderNotAuthenticated, ex.Error);
            Assert.Contains("share envelope from party 2 to party 1", ex.Message, StringComparison.Ordinal);
            Assert.Equal(SecureAggregationParty.Step.SharesSent, s[1].State);
        }

        // The genuine envelopes still open: the refusal left the party able to continue with what its peers really sent.
        Assert.Equal(4, s[1].CreateMaskedInput([.. envelopes.Where(e => e.To == 1)], [1, 2, 3, 4]).Length);
    }

    [Fact]
    public void EnvelopeForAnotherRecipient_RelabelledToThisOne_IsRefused()
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 42);
        var bundles = s.Parties.Select(p => p.CreateKeyBundle()).ToArray();
        var envelopes = s.Parties.SelectMany(p => p.CreateShareEnvelopes(bundles)).ToList();

        // 2's envelope for 3, relabelled as 2's envelope for 1: same sender, same size, wrong pairwise key.
        var toOne = envelopes.Where(e => e.To == 1).Select(e => e.From == 2 ? envelopes.Single(x => x.From == 2 && x.To == 3) with { To = 1 } : e).ToList();
        Assert.Equal(ProtocolError.SenderNotAuthenticated, Assert.Throws<CryptographicCheckException>(() => s[1].CreateMaskedInput(toOne, [1, 2, 3, 4])).Error);
    }

    [Fact]
    public void PartyThatRefusesAnEnvelope_CountsAsDropped_AndTheResultIsTheSumOfTheOthers()
    {
        // Right or refused: party 1 refuses a substituted envelope and uploads nothing; it is in U2 \ U3 and the modeller
        // removes its pairwise masks from its peers' shares of s_1 — the result is exactly the sum of parties 2..4.
        using var s = new SessionHarness(4, 3, Layout, seed: 43);
        var bundles = s.Parties.Select(p => p.CreateKeyBundle()).ToArray();
        var envelopes = s.Parties.SelectMany(p => p.CreateShareEnvelopes(bundles)).ToList();
        var forged = envelopes.Where(e => e.To == 1).Select(e => e.From == 3 ? e with { Ciphertext = [.. e.Ciphertext.Select(b => (byte)(b ^ 0x80))] } : e).ToList();
        Assert.Equal(ProtocolError.SenderNotAuthenticated, Assert.Throws<CryptographicCheckException>(() => s[1].CreateMaskedInput(forged, [50, 50, 50, 50])).Error);

        var summer = new MaskedInputSummer(s.Parameters, [2, 3, 4]);
        foreach (var i in new[] { 2, 3, 4 })
        {
            var masked = s[i].CreateMaskedInput([.. envelopes.Where(e => e.To == i)], [i, i, i, -i]);
            foreach (var chunk in MaskedInputChunk.Split(s.Parameters.SessionId, i, masked, s.Parameters.ChunkElements))
            {
                summer.Accept(chunk);
            }
        }

        var request = new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3, 4], [2, 3, 4]);
        using var unmasker = new SecureAggregationUnmasker(s.Parameters, s.Modeller, s.Pins);
        unmasker.AcceptKeyBundles(bundles);
        unmasker.AcceptUnmaskRequest(request);
        foreach (var i in new[] { 2, 3, 4 })
        {
            unmasker.AcceptResponse(s[i].CreateUnmaskResponse(request));
        }

        Assert.Equal(new long[] { 9, 9, 9, -9 }, unmasker.Finish(summer.GetSum()).SumInteger("c"));
    }

    [Fact]
    public void UnmaskResponse_SealedToM_ByAnyoneButTheResponder_IsRefusedByTheModeller()
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 44);
        var bundles = s.Parties.Select(p => p.CreateKeyBundle()).ToArray();
        var envelopes = s.Parties.SelectMany(p => p.CreateShareEnvelopes(bundles)).ToList();
        foreach (var i in new[] { 1, 2, 3, 4 })
        {
            s[i].CreateMaskedInput([.. envelopes.Where(e => e.To == i)], [1, 2, 3, 4]);
        }

        var request = new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3, 4], [1, 2, 3, 4]);
        var genuine = s[1].CreateUnmaskResponse(request);
        using var unmasker = new SecureAggregationUnmasker(s.Parameters, s.Modeller, s.Pins);
        unmasker.AcceptKeyBundles(bundles);
        unmasker.AcceptUnmaskRequest(request);

        // M is public: the service seals a well-formed reply "from party 1" with shares of its choosing, signed by a key of
        // its own (or by party 2's real identity, as if 2 spoke for 1). The AD is right; the signature is not 1's.
        var ad = SessionRules.UnmaskAssociatedData(s.Parameters, 1, request);
        List<(int Owner, byte Kind, byte[] Share)> entries = [.. Enumerable.Range(1, 4).Select(j => (j, SessionRules.SelfMaskShareKind, new byte[32]))];
        using var impostor = Ed25519KeyPair.Generate(s.Random);
        foreach (var signer in new[] { impostor, s.Identities[1] })
        {
            var box = SealedBox.Seal(s.Modeller.PublicKey, SessionRules.EncodeResponse(s.Parameters, request, signer, 1, entries), ad, s.Random);
            var ex = Assert.Throws<CryptographicCheckException>(() => unmasker.AcceptResponse(genuine with { Ciphertext = box }));
            Assert.Equal(ProtocolError.SenderNotAuthenticated, ex.Error);
            Assert.Equal(0, unmasker.ResponseCount);
        }

        unmasker.AcceptResponse(genuine);
        Assert.Equal(1, unmasker.ResponseCount);
    }

    [Fact]
    public void PartyState_OfVersion1_IsRefused_WithAMessageSayingWhatToDo()
    {
        using var s = new SessionHarness(3, 2, Layout, seed: 45);
        var bundles = s.Parties.Select(p => p.CreateKeyBundle()).ToArray();
        s[1].CreateShareEnvelopes(bundles);
        var blob = s[1].ExportState();
        Assert.Equal(2, blob[23]); // after the 23-byte magic
        Assert.Equal(SecureAggregationParty.Step.SharesSent, SecureAggregationParty.ImportState(s.Parameters, 1, s.Identities[0], s.Random, s.Pins, blob).State);

        // A version-1 file holds envelopes sealed anonymously, which upgraded peers refuse: it cannot be resumed.
        blob[23] = 1;
        var ex = Assert.Throws<MessageRejectedException>(() => SecureAggregationParty.ImportState(s.Parameters, 1, s.Identities[0], s.Random, s.Pins, blob));
        Assert.Equal(ProtocolError.Malformed, ex.Error);
        Assert.Contains("version 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not sender-authenticated", ex.Message, StringComparison.Ordinal);
        Assert.Contains("delete the state file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnmaskRequest_WithPartiesOutOfOrder_IsMalformed()
    {
        var canonical = new UnmaskRequest("s", [3, 1, 2], [2, 1]).ToBytes();
        Assert.Equal(new UnmaskRequest("s", [1, 2, 3], [1, 2]).ToBytes(), canonical);
        Assert.Equal([1, 2, 3], UnmaskRequest.Parse(canonical).ShareSenders);

        // 01 04 ‖ str("s") ‖ BE32 3 ‖ 3 1 2 ‖ BE32 2 ‖ 1 2: U2 not ascending.
        byte[] unordered = Hex.Bytes("0104" + "000173" + "00000003" + "00000003" + "00000001" + "00000002" + "00000002" + "00000001" + "00000002");
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => UnmaskRequest.Parse(unordered)).Error);
        byte[] repeated = Hex.Bytes("0104" + "000173" + "00000002" + "00000001" + "00000002" + "00000002" + "00000002" + "00000002");
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => UnmaskRequest.Parse(repeated)).Error);
    }
}
