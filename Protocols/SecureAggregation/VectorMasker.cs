using System.Runtime.CompilerServices;
using Smpc.Protocols.Field;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>Adds and subtracts many mask streams to a vector, slice-parallel and cache-friendly.</summary>
/// <remarks>
/// The vector is cut into slices processed on all cores; each worker owns its own <see cref="MaskPrg"/>
/// instances (AES contexts are not thread-safe) and, chunk by chunk, applies every stream while the
/// chunk is hot in cache. Seekability of the PRG makes the result independent of the slicing.
/// </remarks>
public static class VectorMasker
{
    private const int MinSliceElements = 1 << 16;

    /// <summary>vector ± Σ PRG(term) mod q for every term, element-wise.</summary>
    public static void Apply(PrimeField field, Span<ulong> vector, IReadOnlyList<MaskTerm> terms, int maxDegreeOfParallelism = -1)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(terms);
        if (terms.Count == 0 || vector.IsEmpty)
        {
            return;
        }

        var workers = maxDegreeOfParallelism > 0 ? maxDegreeOfParallelism : Environment.ProcessorCount;
        var slices = (int)Math.Min(Math.Max(1, vector.Length / MinSliceElements), workers * 4L);
        if (slices == 1 || workers == 1)
        {
            ApplySlice(field, vector, 0, terms);
            return;
        }

        unsafe
        {
            fixed (ulong* basePointer = vector)
            {
                var address = (nint)basePointer;
                var length = vector.Length;
                var sliceLength = (length + slices - 1) / slices;
                sliceLength = (sliceLength + MaskPrg.ChunkElements - 1) / MaskPrg.ChunkElements * MaskPrg.ChunkElements;
                Parallel.For(
                    0,
                    (length + sliceLength - 1) / sliceLength,
                    new ParallelOptions { MaxDegreeOfParallelism = workers },
                    s =>
                    {
                        var start = s * sliceLength;
                        var count = Math.Min(sliceLength, length - start);
                        var slice = new Span<ulong>((ulong*)address + start, count);
                        ApplySlice(field, slice, start, terms);
                    });
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplySlice(PrimeField field, Span<ulong> slice, long offset, IReadOnlyList<MaskTerm> terms)
    {
        var prgs = new MaskPrg[terms.Count];
        try
        {
            for (var t = 0; t < terms.Count; t++)
            {
                prgs[t] = new MaskPrg(field, terms[t].Seed, terms[t].Context);
            }

            for (var chunkStart = 0; chunkStart < slice.Length; chunkStart += MaskPrg.ChunkElements)
            {
                var chunk = slice.Slice(chunkStart, Math.Min(MaskPrg.ChunkElements, slice.Length - chunkStart));
                for (var t = 0; t < prgs.Length; t++)
                {
                    if (terms[t].Subtract)
                    {
                        prgs[t].SubtractFrom(offset + chunkStart, chunk);
                    }
                    else
                    {
                        prgs[t].AddTo(offset + chunkStart, chunk);
                    }
                }
            }
        }
        finally
        {
            foreach (var prg in prgs)
            {
                prg?.Dispose();
            }
        }
    }
}
