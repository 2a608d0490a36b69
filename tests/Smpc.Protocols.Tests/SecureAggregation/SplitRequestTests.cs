using Smpc.Protocols.Encoding;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Tests.SecureAggregation;

/// <summary>
/// The threshold argument of docs/security.md: a service (even with the modeller) that shows different survivor lists to
/// different pods cannot collect t shares of both secrets of one pod, because each pod answers one list and t &gt; n/2.
/// </summary>
public sealed class SplitRequestTests
{
    private static readonly VectorLayout Layout = VectorLayout.Single(FieldSpec.Integer("c", 2, 0, 10));

    [Fact]
    public void TwoSurvivorLists_ShownToDifferentPods_NeverYieldBothSecretsOfOnePod()
    {
        using var s = new SessionHarness(5, 3, Layout, seed: 71);
        var bundles = s.Parties.Select(p => p.CreateKeyBundle()).ToArray();
        var envelopes = s.Parties.SelectMany(p => p.CreateShareEnvelopes(bundles)).ToList();
        foreach (var i in Enumerable.Range(1, 5))
        {
            s[i].CreateMaskedInput([.. envelopes.Where(e => e.To == i)], [i, 1]);
        }

        // List A (pod 5 survived: its b_5 is revealed) goes to pods 1–3; list B (pod 5 "dropped": its s_5) to everyone.
        var a = new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3, 4, 5], [1, 2, 3, 4, 5]);
        var b = new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3, 4, 5], [1, 2, 3, 4]);
        var answersA = new[] { 1, 2, 3 }.Select(i => s[i].CreateUnmaskResponse(a)).ToList();
        foreach (var i in new[] { 1, 2, 3 })
        {
            Assert.Equal(ProtocolError.Contradictory, Assert.Throws<MessageRejectedException>(() => s[i].CreateUnmaskResponse(b)).Error);
        }

        var answersB = new[] { 4 }.Select(i => s[i].CreateUnmaskResponse(b)).ToList();

        // Under list A the modeller could rebuild b_5 (3 shares); under list B it holds one share of s_5, below t = 3.
        using var underA = new SecureAggregationUnmasker(s.Parameters, s.Modeller, s.Pins);
        underA.AcceptKeyBundles(bundles);
        underA.AcceptUnmaskRequest(a);
        answersA.ForEach(underA.AcceptResponse);
        Assert.True(underA.CanFinish);

        using var underB = new SecureAggregationUnmasker(s.Parameters, s.Modeller, s.Pins);
        underB.AcceptKeyBundles(bundles);
        underB.AcceptUnmaskRequest(b);
        answersB.ForEach(underB.AcceptResponse);
        Assert.False(underB.CanFinish);

        // Pod 5 is no survivor under B, so it is not asked; whatever else it answers adds b-shares. The holders of s_5 shares
        // are disjoint from the t holders that answered A: at most n − t = 2 < t of them.
        Assert.Equal(ProtocolError.UnknownParty, Assert.Throws<MessageRejectedException>(() => s[5].CreateUnmaskResponse(b)).Error);
        Assert.Equal(ProtocolError.InsufficientShares, Assert.Throws<ProtocolException>(() => underB.Finish(new ulong[2])).Error);
    }
}
