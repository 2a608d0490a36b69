using Smpc.Protocols.Crypto;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Tests.SecureAggregation;

/// <summary>The modeller's consistency checks on what the service and the survivors send it.</summary>
public sealed class UnmaskerCheckTests
{
    private static readonly VectorLayout Layout = VectorLayout.Single(FieldSpec.Integer("c", 3, -100, 100));

    [Fact]
    public void UnmaskRequest_WhoseSurvivorsAreNotASubsetOfTheShareSenders_IsContradictory()
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 51);
        var bundles = s.Parties.Select(p => p.CreateKeyBundle()).ToArray();
        var unmasker = new SecureAggregationUnmasker(s.Parameters, s.Modeller, s.Pins);
        unmasker.AcceptKeyBundles(bundles);

        // 4 is listed as a survivor but not as a share sender: its pairwise masks were never added by anyone.
        var ex = Assert.Throws<MessageRejectedException>(() => unmasker.AcceptUnmaskRequest(new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3], [1, 2, 4])));
        Assert.Equal(ProtocolError.Contradictory, ex.Error);

        // The refusal left no state behind: the honest request is still accepted.
        unmasker.AcceptUnmaskRequest(new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3, 4], [1, 2, 3]));
    }

    [Fact]
    public void ReconstructedMaskKey_ThatDoesNotMatchThePublishedKey_IsInconsistent()
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 52);
        var bundles = s.Parties.Select(p => p.CreateKeyBundle()).ToArray();
        var envelopes = s.Parties.SelectMany(p => p.CreateShareEnvelopes(bundles)).ToList();
        var summer = new MaskedInputSummer(s.Parameters, [1, 2, 3]);
        foreach (var i in new[] { 1, 2, 3 })
        {
            var masked = s[i].CreateMaskedInput([.. envelopes.Where(e => e.To == i)], [i, 2 * i, 3 * i]);
            foreach (var chunk in MaskedInputChunk.Split(s.Parameters.SessionId, i, masked, s.Parameters.ChunkElements))
            {
                summer.Accept(chunk);
            }
        }

        // Party 4 shared its keys and dropped: the survivors reveal shares of its mask key s_4.
        var request = new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3, 4], [1, 2, 3]);
        var unmasker = new SecureAggregationUnmasker(s.Parameters, s.Modeller, s.Pins);
        unmasker.AcceptKeyBundles(bundles);
        unmasker.AcceptUnmaskRequest(request);
        unmasker.AcceptResponse(WithCorruptedShare(s, s[1].CreateUnmaskResponse(request), request, owner: 4));
        unmasker.AcceptResponse(s[2].CreateUnmaskResponse(request));
        unmasker.AcceptResponse(s[3].CreateUnmaskResponse(request));

        // Exactly t = 3 responses, so no extra share can expose the bad one; only the S_4 check can.
        var ex = Assert.Throws<CryptographicCheckException>(() => unmasker.Finish(summer.GetSum()));
        Assert.Equal(ProtocolError.InconsistentShares, ex.Error);
        Assert.Contains("mask key", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HonestResponses_ForTheSameSession_Unmask()
    {
        // Control for the test above: the same session without the corrupted share gives the plain sum.
        using var s = new SessionHarness(4, 3, Layout, seed: 52);
        var result = s.Run(
            new Dictionary<int, double[]> { [1] = [1, 2, 3], [2] = [2, 4, 6], [3] = [3, 6, 9], [4] = [0, 0, 0] },
            new Dictionary<int, int> { [4] = 3 });
        Assert.Equal(new long[] { 6, 12, 18 }, result.SumInteger("c"));
    }

    [Fact]
    public void Finish_AnswersOnce_BecauseTheSharesAreWipedAfterUnmasking()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 53);
        var bundles = s.Parties.Select(p => p.CreateKeyBundle()).ToArray();
        var envelopes = s.Parties.SelectMany(p => p.CreateShareEnvelopes(bundles)).ToList();
        var summer = new MaskedInputSummer(s.Parameters, [1, 2, 3]);
        foreach (var i in new[] { 1, 2, 3 })
        {
            summer.Accept(new MaskedInputChunk(s.Parameters.SessionId, i, 0, s[i].CreateMaskedInput([.. envelopes.Where(e => e.To == i)], [i, i, i])));
        }

        var request = new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3], [1, 2, 3]);
        using var unmasker = new SecureAggregationUnmasker(s.Parameters, s.Modeller, s.Pins);
        unmasker.AcceptKeyBundles(bundles);
        unmasker.AcceptUnmaskRequest(request);
        foreach (var i in new[] { 1, 2, 3 })
        {
            unmasker.AcceptResponse(s[i].CreateUnmaskResponse(request));
        }

        Assert.Equal(new long[] { 6, 6, 6 }, unmasker.Finish(summer.GetSum()).SumInteger("c"));
        Assert.False(unmasker.CanFinish);
        Assert.Equal(ProtocolError.OutOfOrder, Assert.Throws<MessageRejectedException>(() => unmasker.Finish(summer.GetSum())).Error);
    }

    /// <summary>Re-seals a survivor's reply with one byte of <paramref name="owner"/>'s share flipped (as a faulty pod would send).</summary>
    private static UnmaskResponse WithCorruptedShare(SessionHarness s, UnmaskResponse response, UnmaskRequest request, int owner)
    {
        var ad = SessionRules.UnmaskAssociatedData(s.Parameters, response.Party, request);
        var identity = s.Identities[response.Party - 1];
        var entries = SessionRules.DecodeResponse(s.Parameters, request, SealedBox.Open(s.Modeller, response.Ciphertext, ad), response.Party, identity.PublicKey);
        var share = entries.Single(e => e.Owner == owner).Share;
        share[5] ^= 0x01;

        // The faulty pod signs its own wrong reply: the signature proves who sent it, not that it is right.
        var box = SealedBox.Seal(s.Modeller.PublicKey, SessionRules.EncodeResponse(s.Parameters, request, identity, response.Party, entries), ad, s.Random);
        return response with { Ciphertext = box };
    }
}
