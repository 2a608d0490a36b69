using System.Security.Cryptography;

namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>Fixed-key AES-128 over many 16-byte blocks (ECB). REFERENCE VERSION: to be replaced by AES-NI intrinsics.</summary>
public sealed class Aes128Ecb : IDisposable
{
    private readonly Aes aes;

    /// <summary>An AES-128 permutation under <paramref name="key"/> (16 bytes).</summary>
    public Aes128Ecb(ReadOnlySpan<byte> key)
    {
        if (key.Length != 16) throw new ArgumentException("AES-128 takes a 16-byte key.", nameof(key));
        aes = Aes.Create();
        aes.Key = key.ToArray();
    }

    /// <summary>Encrypts each 16-byte block of <paramref name="source"/> into <paramref name="destination"/> (same length, a multiple of 16; may be the same memory).</summary>
    public void Encrypt(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (source.Length % 16 != 0 || destination.Length != source.Length) throw new ArgumentException("Whole blocks, same length.");
        aes.EncryptEcb(source, destination, PaddingMode.None);
    }

    /// <inheritdoc />
    public void Dispose() => aes.Dispose();
}

/// <summary>AES-128 in counter mode as the PRG of docs/protocols/psi.md: block k of the stream is AES_key(LE128(k)).</summary>
public static class AesCtrPrg
{
    /// <summary>Fills <paramref name="destination"/> (a multiple of 16 bytes) with stream blocks <paramref name="firstBlock"/>, <paramref name="firstBlock"/> + 1, …</summary>
    public static void Generate(ReadOnlySpan<byte> key, long firstBlock, Span<byte> destination)
    {
        if (destination.Length % 16 != 0) throw new ArgumentException("Whole blocks.", nameof(destination));
        using var aes = new Aes128Ecb(key);
        for (var i = 0; i < destination.Length / 16; i++)
        {
            var block = destination.Slice(i * 16, 16);
            block.Clear();
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(block, firstBlock + i);
        }

        aes.Encrypt(destination, destination);
    }
}

/// <summary>Bit-matrix transposition between the column layout of the base-OT PRG streams and the row layout of bins.</summary>
public static class BitMatrix
{
    /// <summary>
    /// Transposes <see cref="KkrtParameters.CodeBits"/> columns of <paramref name="bins"/> bits into <paramref name="bins"/> rows of
    /// 64 bytes. Column j starts at <c>columns[j * columnStride]</c>; its bit b is bit (b &amp; 7) of byte b &gt;&gt; 3 (LSB first). Row b
    /// is <c>rows[b * 64 ..]</c>; its bit j is bit (j &amp; 7) of byte j &gt;&gt; 3. <paramref name="bins"/> is a multiple of 8.
    /// REFERENCE VERSION: to be replaced by a vectorised one.
    /// </summary>
    public static void ColumnsToRows(ReadOnlySpan<byte> columns, int columnStride, int bins, Span<byte> rows)
    {
        if (bins % 8 != 0) throw new ArgumentException("A multiple of 8 bins.", nameof(bins));
        rows[..(bins * KkrtParameters.RowBytes)].Clear();
        for (var j = 0; j < KkrtParameters.CodeBits; j++)
        {
            var column = columns.Slice(j * columnStride, bins / 8);
            for (var b = 0; b < bins; b++)
            {
                if (((column[b >> 3] >> (b & 7)) & 1) != 0) rows[b * KkrtParameters.RowBytes + (j >> 3)] |= (byte)(1 << (j & 7));
            }
        }
    }
}
