using Smpc.Protocols.PrivateSetIntersection.Kkrt;
using Xunit.Abstractions;

namespace Smpc.Protocols.Tests.PrivateSetIntersection.Kkrt;

/// <summary>The modeller's cuckoo table: placement rules, and redraws under deliberately tight parameters.</summary>
public sealed class KkrtCuckooTests(ITestOutputHelper output)
{
    private static void AssertValid(KkrtCuckooTable table, byte[] digests, int bins)
    {
        var count = digests.Length / 16;
        var seen = new bool[count];
        for (var bin = 0; bin < bins; bin++)
        {
            var item = table.BinItem[bin];
            if (item < 0)
            {
                continue;
            }

            Assert.False(seen[item]); // one bin per item
            seen[item] = true;
            Assert.Equal(bin, table.ItemBin[item]);
            Assert.Equal(bin, KkrtNaive.Position(table.HashKey, digests.AsSpan(item * 16, 16), table.ItemFunction[item], bins));
        }

        Assert.All(seen, Assert.True); // every item placed
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(5000)]
    public void EveryItem_IsInOneOfItsBins_AtMostOnePerBin(int count)
    {
        var digests = KkrtSession.Digests(Enumerable.Range(0, count));
        var bins = (int)KkrtParameters.Bins(count);
        var table = KkrtCuckooTable.Build(digests, bins, new DeterministicTestRandom(count));
        AssertValid(table, digests, bins);
        Assert.Equal(0, table.Redraws);
    }

    [Fact]
    public void TightTables_RedrawTheKey_AndStayValid()
    {
        // 200 items in ⌈e·200⌉ bins, 40 tables per factor: the share of keys that fail falls as e grows.
        var digests = KkrtSession.Digests(Enumerable.Range(0, 200));
        var rates = new List<double>();
        foreach (var e in new[] { 1.1, 1.15, 1.2 })
        {
            var bins = (int)Math.Ceiling(e * 200);
            var redraws = 0;
            for (var seed = 0; seed < 40; seed++)
            {
                var table = KkrtCuckooTable.Build(digests, bins, new DeterministicTestRandom(seed), maxEvictions: 100, maxKeys: 1000);
                AssertValid(table, digests, bins);
                redraws += table.Redraws;
            }

            var rate = redraws / (double)(redraws + 40);
            output.WriteLine($"e = {e}: {redraws} failed keys for 40 tables, failure rate per key {rate:F3}");
            rates.Add(rate);
        }

        Assert.True(rates[0] > 0, "the tightest factor makes keys fail");
        Assert.True(rates[0] >= rates[1] && rates[1] >= rates[2], "failures fall as the factor grows");
    }

    [Fact]
    public void TheProtocolsFactor_NeverFailedHere()
    {
        // ⌈1.5·n⌉ + 256 bins: no redraw over 100 tables of 2000 items (the fit gives ≤ 2^-40 per key).
        var digests = KkrtSession.Digests(Enumerable.Range(0, 2000));
        var bins = (int)KkrtParameters.Bins(2000);
        for (var seed = 0; seed < 100; seed++)
        {
            Assert.Equal(0, KkrtCuckooTable.Build(digests, bins, new DeterministicTestRandom(seed)).Redraws);
        }
    }

    [Fact]
    public void Session_WithRedrawnKeys_StillFindsExactlyTheIntersection()
    {
        // Very few evictions allowed per insertion: keys fail and are redrawn; the result is unchanged. The smallest limit
        // under which some key of the 64 fits is found by trying (deterministic randomness, so always the same).
        var modeller = KkrtSession.Digests(Enumerable.Range(0, 1500));
        KkrtPsiReceiver? built = null;
        for (var limit = 0; built is null; limit++)
        {
            try
            {
                built = new KkrtPsiReceiver(modeller, new DeterministicTestRandom(9), maxEvictions: limit);
            }
            catch (ProtocolException ex) when (ex.Error == ProtocolError.InvalidParameters && limit < 50)
            {
            }
        }

        using var receiver = built;
        using var sender = new KkrtPsiSender(1500, new DeterministicTestRandom(10));
        Assert.True(receiver.CuckooRedraws > 0, "the test needs redraws");
        output.WriteLine($"redraws: {receiver.CuckooRedraws}");
        var matches = KkrtSession.Run(receiver, sender, KkrtSession.Digests(Enumerable.Range(700, 1000)));
        Assert.Equal(Enumerable.Range(0, 1500).Select(k => k >= 700).ToArray(), matches.Matched);
    }

    [Fact]
    public void TooManyItems_ForTheBins_AreRefused() =>
        Assert.Equal(ProtocolError.InvalidParameters, Assert.Throws<ProtocolException>(() => KkrtCuckooTable.Build(new byte[16 * 11], 10, new DeterministicTestRandom(1))).Error);
}
