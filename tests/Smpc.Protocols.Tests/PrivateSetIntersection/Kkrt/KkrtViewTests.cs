using Smpc.Protocols.PrivateSetIntersection.Kkrt;
using Xunit.Abstractions;

namespace Smpc.Protocols.Tests.PrivateSetIntersection.Kkrt;

/// <summary>
/// The pod's view (the whole query, with the pod's own secrets s and T^s) looks the same for two modeller sets of equal size;
/// a deliberately leaky variant (U without the T^1 mask) is caught by the same tests. Fixed seeds: deterministic, cannot flake.
/// </summary>
public sealed class KkrtViewTests(ITestOutputHelper output)
{
    private const int Size = 200;
    private const int Sessions = 4;
    private static readonly int[] SetA = [.. Enumerable.Range(0, Size)];
    private static readonly int[] SetB = [.. Enumerable.Range(100_000, Size)];

    private sealed record View(byte[] Header, byte[] Rows, byte[] LeakyRows, byte[] S, byte[] Ts, byte[] CodeKey, long Bins);

    private static View Observe(int[] items, int seed)
    {
        var digests = KkrtSession.Digests(items);
        using var receiver = new KkrtPsiReceiver(digests, new DeterministicTestRandom(seed));
        using var sender = new KkrtPsiSender(items.Length, new DeterministicTestRandom(seed + 5000));
        receiver.ReadSetup(sender.CreateSetup());
        var query = KkrtSession.Query(receiver);
        var header = query[..KkrtParameters.QueryHeaderBytes];
        var rows = query[KkrtParameters.QueryHeaderBytes..];
        sender.ReadQueryHeader(header);
        var t1 = KkrtNaive.Matrix(receiver.OtKeysForTests(1), receiver.Bins);
        return new View(header, rows, KkrtNaive.Xor(rows, t1), sender.ChoiceRowForTests, KkrtNaive.Matrix(sender.OtKeysForTests, receiver.Bins), receiver.CodeKeyForTests, receiver.Bins);
    }

    private static readonly Lazy<(View[] A, View[] B)> Views = new(() =>
        (Enumerable.Range(0, Sessions).Select(k => Observe(SetA, 10 + k)).ToArray(),
         Enumerable.Range(0, Sessions).Select(k => Observe(SetB, 20 + k)).ToArray()));

    /// <summary>Ones per bit position (bits LSB first) over records of <paramref name="width"/> bytes.</summary>
    private static long[] Ones(IEnumerable<byte[]> data, int width)
    {
        var ones = new long[width * 8];
        foreach (var bytes in data)
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                for (var bit = 0; bit < 8; bit++)
                {
                    ones[((i % width) * 8) + bit] += (bytes[i] >> bit) & 1;
                }
            }
        }

        return ones;
    }

    /// <summary>Two-sample chi-square over bit positions (pooled p̂ per position; constant positions are skipped): statistic and degrees of freedom.</summary>
    private static (double Chi2, int Df) TwoSample(long[] a, long[] b, long n)
    {
        double chi2 = 0;
        var df = 0;
        for (var j = 0; j < a.Length; j++)
        {
            var p = (a[j] + b[j]) / (2.0 * n);
            if (p is 0 or 1)
            {
                continue;
            }

            chi2 += (a[j] - b[j]) * (double)(a[j] - b[j]) / (2.0 * n * p * (1 - p));
            df++;
        }

        return (chi2, df);
    }

    /// <summary>Far in the tail of χ²(df): df + 6·√(2·df) (p below 10^-6 for the df here).</summary>
    private static double Critical(int df) => df + (6 * Math.Sqrt(2.0 * df));

    /// <summary>What a pod with its own s and T^s can compute about each bin on the columns it does not know: (U ⊕ T^s) ∧ ¬s.</summary>
    private static byte[] Unmasked(byte[] rows, View view)
    {
        var result = KkrtNaive.Xor(rows, view.Ts);
        for (var i = 0; i < result.Length; i++)
        {
            result[i] &= (byte)~view.S[i % 64];
        }

        return result;
    }

    /// <summary>The pod's membership test: the items of <paramref name="candidates"/> whose code C(y, i) ∧ ¬s shows in their bin.</summary>
    private static int Recognised(byte[] rows, View view, int[] candidates)
    {
        var unmasked = Unmasked(rows, view);
        var hk = view.Header[..16];
        var digests = KkrtSession.Digests(candidates);
        var found = 0;
        for (var k = 0; k < candidates.Length; k++)
        {
            for (var i = 0; i < 3; i++)
            {
                var bin = KkrtNaive.Position(hk, digests.AsSpan(k * 16, 16), i, view.Bins);
                var code = KkrtNaive.Code(view.CodeKey, digests.AsSpan(k * 16, 16), i);
                var expected = new byte[64];
                for (var w = 0; w < 64; w++)
                {
                    expected[w] = (byte)(code[w] & ~view.S[w]);
                }

                if (unmasked.AsSpan((int)(bin * 64), 64).SequenceEqual(expected))
                {
                    found++;
                    break;
                }
            }
        }

        return found;
    }

    [Fact]
    public void QueryRows_HaveTheSameBitFrequencies_ForTwoSetsOfEqualSize()
    {
        var (a, b) = Views.Value;
        var n = Sessions * a[0].Bins;
        var (chi2, df) = TwoSample(Ones(a.Select(v => v.Rows), 64), Ones(b.Select(v => v.Rows), 64), n);
        output.WriteLine($"U rows: χ² = {chi2:F1}, df = {df}, critical {Critical(df):F1}");
        Assert.Equal(512, df);
        Assert.True(chi2 < Critical(df));
    }

    [Fact]
    public void QueryHeader_HasTheSameBitFrequencies_ForTwoSetsOfEqualSize()
    {
        // hk and the 512 elements B_j, bit position within a 32-byte element (ristretto255 encodings are not uniform bits: the
        // top bit and the lowest are fixed, so those positions are skipped as constant).
        var (a, b) = Views.Value;
        var (chi2, df) = TwoSample(Ones(a.Select(v => v.Header[16..]), 32), Ones(b.Select(v => v.Header[16..]), 32), Sessions * 512);
        output.WriteLine($"B elements: χ² = {chi2:F1}, df = {df}, critical {Critical(df):F1}");
        Assert.InRange(df, 250, 256);
        Assert.True(chi2 < Critical(df));
        var (chi2Key, dfKey) = TwoSample(Ones(a.Select(v => v.Header[..16]), 1), Ones(b.Select(v => v.Header[..16]), 1), Sessions * 16);
        Assert.True(chi2Key < Critical(dfKey));
    }

    [Fact]
    public void WhatThePodCanUnmask_IsUniform_AndRecognisesNoItem()
    {
        var (a, b) = Views.Value;
        foreach (var views in new[] { a, b })
        {
            // Per bin, the bits on the columns with s_j = 0: uniform (compare with an ideal half of ones).
            var zeroColumns = views.Sum(v => 512 - v.S.Sum(x => System.Numerics.BitOperations.PopCount(x)));
            var ones = views.Sum(v => Unmasked(v.Rows, v).Sum(x => (long)System.Numerics.BitOperations.PopCount(x)));
            var trials = views.Sum(v => (512 - v.S.Sum(x => System.Numerics.BitOperations.PopCount(x))) * v.Bins);
            var z = (ones - (trials / 2.0)) / Math.Sqrt(trials / 4.0);
            output.WriteLine($"unmasked ones {ones} of {trials} (z = {z:F2}), {zeroColumns} unknown columns");
            Assert.InRange(z, -5, 5);
        }

        Assert.All(a, v => Assert.Equal(0, Recognised(v.Rows, v, SetA)));
        Assert.All(b, v => Assert.Equal(0, Recognised(v.Rows, v, SetA)));
    }

    [Fact]
    public void NegativeControl_WithoutTheT1Mask_ThePodSeesTheSet()
    {
        // U' = T^0 ⊕ c: on the columns with s_j = 0 the pod removes T^0 and reads the code of the item in each bin.
        var (a, b) = Views.Value;
        Assert.All(a, v => Assert.Equal(Size, Recognised(v.LeakyRows, v, SetA)));
        Assert.All(b, v => Assert.Equal(0, Recognised(v.LeakyRows, v, SetA)));
        foreach (var v in a)
        {
            var unmasked = Unmasked(v.LeakyRows, v);
            var trials = (512 - v.S.Sum(x => System.Numerics.BitOperations.PopCount(x))) * v.Bins;
            var ones = unmasked.Sum(x => (long)System.Numerics.BitOperations.PopCount(x));
            var z = (ones - (trials / 2.0)) / Math.Sqrt(trials / 4.0);
            output.WriteLine($"leaky: unmasked ones {ones} of {trials} (z = {z:F2})");
            Assert.True(z < -5, "empty bins show as zero rows");
        }
    }
}
