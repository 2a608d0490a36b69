using System.Globalization;
using System.Text;

namespace Smpc.Bench;

/// <summary>
/// Two CSV files of one column <c>id</c> (16 hex digits, pseudorandom, distinct), the usual shape of PSI benchmarks:
/// <c>overlap</c> ids in common at pseudorandom positions. Deterministic in the seed.
/// </summary>
public static class IdLists
{
    /// <summary>Writes both files; returns the common ids, sorted (ordinal), i.e. the modeller's expected matches.</summary>
    public static IReadOnlyList<string> Write(string modellerCsv, string podCsv, int modellerRows, int podRows, int overlap, ulong seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(overlap, Math.Min(modellerRows, podRows));
        // Ids are SplitMix64 outputs of disjoint counters: modeller-only 0.., pod-only 2^40.., common 2^41.. (a bijection, so distinct).
        var common = new List<string>(overlap);
        WriteSide(modellerCsv, modellerRows, overlap, 0, seed, common);
        WriteSide(podCsv, podRows, overlap, 1L << 40, seed, null);
        common.Sort(StringComparer.Ordinal);
        return common;
    }

    private static void WriteSide(string path, int rows, int overlap, long ownBase, ulong seed, List<string>? common)
    {
        // Common rows sit at positions chosen by a stride walk over the rows (a permutation when the stride is coprime to rows).
        var isCommon = new bool[rows];
        var stride = rows <= 1 ? 1 : NextCoprime(rows, (int)(seed % 1000) + (rows / 3) + 1);
        long position = (long)(seed % (ulong)Math.Max(rows, 1));
        for (var i = 0; i < overlap; i++, position = (position + stride) % rows) isCommon[position] = true;
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20) { NewLine = "\n" };
        writer.WriteLine("id");
        long nextCommon = 0, nextOwn = 0;
        for (var row = 0; row < rows; row++)
        {
            var counter = isCommon[row] ? (1L << 41) + nextCommon++ : ownBase + nextOwn++;
            var id = Mix((ulong)counter ^ (seed << 48)).ToString("x16", CultureInfo.InvariantCulture);
            if (isCommon[row]) common?.Add(id);
            writer.WriteLine(id);
        }
    }

    private static int NextCoprime(int n, int candidate)
    {
        while (Gcd(n, candidate % n == 0 ? 1 : candidate) != 1) candidate++;
        return candidate % n == 0 ? 1 : candidate;
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    /// <summary>SplitMix64's finaliser: a bijection on 64-bit words.</summary>
    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
