namespace Smpc.Protocols.Federated.Training;

/// <summary>
/// A small deterministic generator for batch shuffles and synthetic data (never for anything secret): the same seed gives
/// the same sequence on every platform and .NET version, which System.Random does not promise.
/// </summary>
public struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n), n ≥ 1 (rejection sampling, so without modulo bias).</summary>
    public int NextInt(int n)
    {
        var bound = (ulong)n;
        var limit = ulong.MaxValue - (ulong.MaxValue % bound);
        ulong x;
        do
        {
            x = Next();
        }
        while (x >= limit);
        return (int)(x % bound);
    }

    /// <summary>Standard normal (Box–Muller; one of the pair is dropped for simplicity).</summary>
    public double NextGaussian()
    {
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>A seed derived from two values, so that (a, b) and (b, a) give unrelated streams.</summary>
    public static ulong Mix(ulong a, ulong b)
    {
        var g = new SplitMix64(a);
        return g.Next() ^ new SplitMix64(b ^ 0xD1B54A32D192ED03).Next();
    }
}
