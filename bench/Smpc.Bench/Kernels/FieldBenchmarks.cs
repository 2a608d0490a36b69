using BenchmarkDotNet.Attributes;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.Field;
using Smpc.Protocols.Randomness;

namespace Smpc.Bench.Kernels;

/// <summary>Field add (vectorised and scalar reference) and fixed-point encode vs summing a long[] of the same size.</summary>
[ShortInProcessJob]
public class FieldBenchmarks
{
    private const int Elements = 10_000_000;
    private readonly PrimeField field = PrimeField.Default;
    private ulong[] accumulator = [];
    private ulong[] values = [];
    private long[] longs = [];
    private double[] doubles = [];
    private FixedPointCodec codec = null!;

    [GlobalSetup]
    public void Setup()
    {
        accumulator = new ulong[Elements];
        values = new ulong[Elements];
        longs = new long[Elements];
        doubles = new double[Elements];
        for (var i = 0; i < Elements; i++)
        {
            values[i] = SystemRandomSource.Instance.NextUInt64Below(field.Modulus);
            longs[i] = (long)values[i];
            doubles[i] = ((i % 2000) - 1000) / 7.0;
        }

        codec = new FixedPointCodec(field, VectorLayout.Single(FieldSpec.Real("w", Elements, -1000, 1000)), 10);
    }

    /// <summary>Memory-bandwidth reference: Σ long[10M] (reads 80 MB).</summary>
    [Benchmark(Baseline = true, Description = "sum long[10M] (baseline)")]
    public long SumLongs()
    {
        long sum = 0;
        foreach (var v in longs)
        {
            sum += v;
        }

        return sum;
    }

    /// <summary>acc += values mod q with Vector256 min-reduction (reads 160 MB, writes 80 MB).</summary>
    [Benchmark(Description = "field add 10M (Vector256)")]
    public void FieldAdd() => field.AddInPlace(accumulator, values);

    /// <summary>The 128-bit scalar reference the tests compare against.</summary>
    [Benchmark(Description = "field add 10M (scalar reference)")]
    public void FieldAddReference() => field.AddReference(accumulator, values);

    /// <summary>double → fixed-point field element with bound checks (reads 80 MB, writes 80 MB).</summary>
    [Benchmark(Description = "encode 10M doubles")]
    public void Encode() => codec.Encode(doubles, accumulator);
}
