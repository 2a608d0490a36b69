using BenchmarkDotNet.Attributes;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Field;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Bench.Kernels;

/// <summary>Masking a 10M-element vector for 10 parties (1 self mask + 9 pairwise) vs the same keystream bytes alone.</summary>
[ShortInProcessJob]
public class MaskingBenchmarks
{
    private const int Elements = 10_000_000;
    private const int Streams = 10;
    private ulong[] vector = [];
    private MaskTerm[] terms = [];
    private byte[][] keys = [];

    [GlobalSetup]
    public void Setup()
    {
        vector = new ulong[Elements];
        terms = [.. Enumerable.Range(0, Streams).Select(i => new MaskTerm(
            SystemRandomSource.Instance.NextBytes(32), MaskContext.ForPairMask("bench", 0, 1, i + 2), Subtract: i % 2 == 1))];
        keys = [.. Enumerable.Range(0, Streams).Select(_ => SystemRandomSource.Instance.NextBytes(32))];
    }

    /// <summary>AES-128-CTR keystream for 10 × 80 MB on all cores, in the same 32 KiB chunks the masker uses.</summary>
    [Benchmark(Baseline = true, Description = "keystream only (10 × 80 MB AES-CTR, all cores)")]
    public void KeystreamOnly()
    {
        var slices = Environment.ProcessorCount * 4;
        var sliceLength = (Elements + slices - 1) / slices;
        Parallel.For(0, slices, s =>
        {
            var streams = keys.Select(k => new AesCtrKeystream(k.AsSpan(0, 16), k.AsSpan(16, 16))).ToArray();
            var buffer = new byte[MaskPrg.ChunkElements * sizeof(ulong)];
            var start = (long)s * sliceLength;
            var end = Math.Min(start + sliceLength, Elements);
            for (var offset = start; offset < end; offset += MaskPrg.ChunkElements)
            {
                var bytes = (int)Math.Min(MaskPrg.ChunkElements, end - offset) * sizeof(ulong);
                foreach (var stream in streams)
                {
                    stream.Generate((ulong)offset / 2, buffer.AsSpan(0, (bytes + 15) / 16 * 16));
                }
            }

            foreach (var stream in streams)
            {
                stream.Dispose();
            }
        });
    }

    /// <summary>y = x + Σ ±PRG(seed_k) mod q over 10M elements: the pod's masking step.</summary>
    [Benchmark(Description = "mask 10M elements, 10 streams (all cores)")]
    public void MaskVector() => VectorMasker.Apply(PrimeField.Default, vector, terms);
}
