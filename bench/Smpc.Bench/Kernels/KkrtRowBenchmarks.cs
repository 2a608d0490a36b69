using System.Runtime.InteropServices;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Bench.Kernels;

/// <summary>
/// kkrt-v1 per-bin kernels, one core, per bin (4096 bins per invocation): the 512 × m transpose (vectorised vs the portable bit
/// loop), one matrix's column window (512 PRG streams) plus its transpose, and SHA-256 tags (.NET/OpenSSL per call, libcrypto's one-shot
/// <c>SHA256()</c>, and the eight-lane AVX2 kernel).
/// </summary>
[ShortInProcessJob]
public class KkrtRowBenchmarks
{
    private const int Bins = 4096;
    private const int TagBytes = 12;
    private Aes128Ecb[] keys = [];
    private byte[] columns = [];
    private byte[] rows = [];
    private byte[] tags = [];
    private byte[] tagInput = [];
    private byte[] rawKeys = [];

    [GlobalSetup]
    public void Setup()
    {
        keys = [.. Enumerable.Range(0, KkrtParameters.CodeBits).Select(_ => new Aes128Ecb(RandomNumberGenerator.GetBytes(16)))];
        columns = new byte[KkrtParameters.CodeBits * Bins / 8];
        RandomNumberGenerator.Fill(columns);
        rows = new byte[Bins * KkrtParameters.RowBytes];
        RandomNumberGenerator.Fill(rows);
        tags = new byte[Bins * TagBytes];
        tagInput = new byte[88];
        rawKeys = RandomNumberGenerator.GetBytes(16 * KkrtParameters.CodeBits);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var k in keys) k.Dispose();
    }

    /// <summary>The skeleton's bit-by-bit transpose (the same loop is BitMatrix's non-AVX2 fallback).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Bins, Description = "transpose, portable bit loop, per bin")]
    public void TransposePortable()
    {
        var r = rows.AsSpan();
        r.Clear();
        for (var j = 0; j < KkrtParameters.CodeBits; j++)
        {
            var column = columns.AsSpan(j * (Bins / 8), Bins / 8);
            for (var b = 0; b < Bins; b++)
            {
                if (((column[b >> 3] >> (b & 7)) & 1) != 0) r[b * KkrtParameters.RowBytes + (j >> 3)] |= (byte)(1 << (j & 7));
            }
        }
    }

    /// <summary>AVX2 tiles + movemask.</summary>
    [Benchmark(OperationsPerInvoke = Bins, Description = "transpose, AVX2, per bin")]
    public void Transpose() => BitMatrix.ColumnsToRows(columns, Bins / 8, Bins, rows);

    /// <summary>One matrix (T^0, or T^s on the pod) for 4096 bins: 512 streams × 512 bytes from expanded keys, then the transpose.</summary>
    [Benchmark(OperationsPerInvoke = Bins, Description = "512 PRG columns (expanded keys) + transpose, per bin")]
    public void ColumnsAndTranspose()
    {
        AesCtrPrg.GenerateColumns(keys, 0, Bins / 128, columns);
        BitMatrix.ColumnsToRows(columns, Bins / 8, Bins, rows);
    }

    /// <summary>One matrix for 4096 bins as the skeleton's API allows: AesCtrPrg.Generate on each raw 16-byte key (key schedule per call).</summary>
    [Benchmark(OperationsPerInvoke = Bins, Description = "512 PRG columns from raw keys + transpose, per bin")]
    public void RawKeyColumnsAndTranspose()
    {
        for (var j = 0; j < KkrtParameters.CodeBits; j++) AesCtrPrg.Generate(rawKeys.AsSpan(16 * j, 16), 0, columns.AsSpan(j * (Bins / 8), Bins / 8));
        BitMatrix.ColumnsToRows(columns, Bins / 8, Bins, rows);
    }

    /// <summary>The pod's per-item AES work: the three cuckoo positions h_0..h_2 (3 AES blocks) and code words C(y, 0..2) (12 blocks).</summary>
    [Benchmark(OperationsPerInvoke = Bins, Description = "3 cuckoo positions + 3 code words (15 AES), per element")]
    public void PositionsAndCodes()
    {
        Span<long> positions = stackalloc long[3];
        Span<byte> codes = stackalloc byte[192];
        for (var k = 0; k < Bins; k++)
        {
            var digest = rows.AsSpan(16 * k, 16);
            KkrtKernels.CuckooPositions(keys[0], digest, 98_560, positions);
            KkrtKernels.Codes(keys[1], digest, codes);
        }
    }

    /// <summary>Tag(b, row), one .NET SHA256.HashData call per row (88 bytes).</summary>
    [Benchmark(OperationsPerInvoke = Bins, Description = "Tag, one SHA256.HashData per row")]
    public void TagsOneShot()
    {
        Span<byte> hash = stackalloc byte[32];
        "smpc/psi/kkrt/v1/tag"u8.CopyTo(tagInput);
        for (var k = 0; k < Bins; k++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(tagInput.AsSpan(20), (uint)k);
            rows.AsSpan(k * 64, 64).CopyTo(tagInput.AsSpan(24));
            SHA256.HashData(tagInput, hash);
            hash[..TagBytes].CopyTo(tags.AsSpan(k * TagBytes));
        }
    }

    /// <summary>Tag(b, row) through KkrtKernels.Tags: eight rows per AVX2 SHA-256 pass.</summary>
    [Benchmark(OperationsPerInvoke = Bins, Description = "Tag, KkrtKernels.Tags (8-lane AVX2 SHA-256), per row")]
    public void Tags() => KkrtKernels.Tags(0, rows, TagBytes, tags);

    /// <summary>The same 88-byte SHA-256 through libcrypto's one-shot SHA256() (legacy API, SHA-NI), to price the .NET wrapper.</summary>
    [Benchmark(OperationsPerInvoke = Bins, Description = "88-byte SHA-256 via libcrypto SHA256(), per row")]
    public void LibcryptoSha256()
    {
        Span<byte> hash = stackalloc byte[32];
        for (var k = 0; k < Bins; k++)
        {
            rows.AsSpan(k * 64, 64).CopyTo(tagInput.AsSpan(24));
            Sha256(ref MemoryMarshal.GetArrayDataReference(tagInput), 88, ref MemoryMarshal.GetReference(hash));
        }
    }

    [DllImport("libcrypto.so.3", EntryPoint = "SHA256")]
    private static extern IntPtr Sha256(ref byte data, nuint length, ref byte digest);
}
