using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>Bit-matrix transposition between the column layout of the base-OT PRG streams and the row layout of bins.</summary>
public static class BitMatrix
{
    private const int Columns = KkrtParameters.CodeBits;
    private const int RowBytes = KkrtParameters.RowBytes;

    /// <summary>
    /// Transposes <see cref="KkrtParameters.CodeBits"/> columns of <paramref name="bins"/> bits into <paramref name="bins"/> rows of
    /// 64 bytes. Column j starts at <c>columns[j * columnStride]</c>; its bit b is bit (b &amp; 7) of byte b &gt;&gt; 3 (LSB first). Row b
    /// is <c>rows[b * 64 ..]</c>; its bit j is bit (j &amp; 7) of byte j &gt;&gt; 3. <paramref name="bins"/> is a multiple of 8.
    /// </summary>
    /// <remarks>
    /// AVX2: tiles of 32 columns × 16 bytes (128 bins) are byte-transposed with per-lane unpacks (columns j and j + 16 share a
    /// 256-bit register), then each bit plane of a byte comes out as 32 row bits with one <c>VPMOVMSKB</c>. Portable loop otherwise.
    /// </remarks>
    public static void ColumnsToRows(ReadOnlySpan<byte> columns, int columnStride, int bins, Span<byte> rows)
    {
        if (bins < 0 || bins % 8 != 0) throw new ArgumentException("A non-negative multiple of 8 bins.", nameof(bins));
        var columnBytes = bins / 8;
        if (columnStride < columnBytes) throw new ArgumentOutOfRangeException(nameof(columnStride), "A column stride shorter than a column.");
        if (bins == 0) return;
        if (columns.Length < (long)(Columns - 1) * columnStride + columnBytes) throw new ArgumentException("Too short for 512 columns.", nameof(columns));
        if (rows.Length < (long)bins * RowBytes) throw new ArgumentException("Too short for the rows.", nameof(rows));

        if (Avx2.IsSupported) TransposeAvx2(ref MemoryMarshal.GetReference(columns), columnStride, columnBytes, ref MemoryMarshal.GetReference(rows));
        else TransposePortable(columns, columnStride, bins, rows);
    }

    internal static void TransposePortable(ReadOnlySpan<byte> columns, int columnStride, int bins, Span<byte> rows)
    {
        rows[..(bins * RowBytes)].Clear();
        for (var j = 0; j < Columns; j++)
        {
            var column = columns.Slice(j * columnStride, bins / 8);
            for (var b = 0; b < bins; b++)
            {
                if (((column[b >> 3] >> (b & 7)) & 1) != 0) rows[b * RowBytes + (j >> 3)] |= (byte)(1 << (j & 7));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeAvx2(ref byte columns, int columnStride, int columnBytes, ref byte rows)
    {
        var tile = new Tile();
        var stride = (nuint)columnStride;
        var byteIndex = 0;
        for (; byteIndex + 16 <= columnBytes; byteIndex += 16)
        {
            for (var j0 = 0; j0 < Columns; j0 += 32)
            {
                ref var first = ref Unsafe.Add(ref columns, (nuint)j0 * stride + (nuint)byteIndex);
                for (var c = 0; c < 16; c++)
                {
                    tile[c] = Vector256.Create(
                        Vector128.LoadUnsafe(ref first, (nuint)c * stride),
                        Vector128.LoadUnsafe(ref first, (nuint)(c + 16) * stride));
                }

                Transpose16x16(ref tile);
                for (var b = 0; b < 16; b++) Scatter(tile[b], ref rows, 8 * (byteIndex + b), j0);
            }
        }

        // The last < 16 bytes of each column (bins not a multiple of 128): gather byte by byte.
        for (; byteIndex < columnBytes; byteIndex++)
        {
            for (var j0 = 0; j0 < Columns; j0 += 32)
            {
                var gathered = Vector256<byte>.Zero;
                for (var k = 0; k < 32; k++)
                {
                    // Element k is column j0 + k, the layout the tiles end in.
                    gathered = gathered.WithElement(k, Unsafe.Add(ref columns, (nuint)(j0 + k) * stride + (nuint)byteIndex));
                }

                Scatter(gathered, ref rows, 8 * byteIndex, j0);
            }
        }
    }

    // v holds byte (bin >> 3) of columns j0 .. j0 + 31; bit p of element k is bit j0 + k of row firstBin + p.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scatter(Vector256<byte> v, ref byte rows, int firstBin, int j0)
    {
        ref var target = ref Unsafe.Add(ref rows, (nuint)firstBin * RowBytes + (nuint)(j0 >> 3));
        for (var p = 7; p >= 0; p--)
        {
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref target, (nuint)p * RowBytes), Avx2.MoveMask(v));
            v = Avx2.Add(v, v); // next bit to the sign position
        }
    }

    // In each 128-bit lane independently: input t[c] = 16 bytes of column c; output t[b] = byte b of columns 0..15.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16x16(ref Tile t)
    {
        var a = new Tile();
        for (var k = 0; k < 8; k++)
        {
            a[2 * k] = Avx2.UnpackLow(t[2 * k], t[2 * k + 1]);      // columns 2k, 2k+1 interleaved, bytes 0..7
            a[2 * k + 1] = Avx2.UnpackHigh(t[2 * k], t[2 * k + 1]); // bytes 8..15
        }

        for (var q = 0; q < 4; q++)
        {
            // t[4q + r]: columns 4q .. 4q+3 for bytes 4r .. 4r+3.
            t[4 * q] = Avx2.UnpackLow(a[4 * q].AsUInt16(), a[4 * q + 2].AsUInt16()).AsByte();
            t[4 * q + 1] = Avx2.UnpackHigh(a[4 * q].AsUInt16(), a[4 * q + 2].AsUInt16()).AsByte();
            t[4 * q + 2] = Avx2.UnpackLow(a[4 * q + 1].AsUInt16(), a[4 * q + 3].AsUInt16()).AsByte();
            t[4 * q + 3] = Avx2.UnpackHigh(a[4 * q + 1].AsUInt16(), a[4 * q + 3].AsUInt16()).AsByte();
        }

        for (var h = 0; h < 2; h++)
        {
            for (var r = 0; r < 4; r++)
            {
                // a[8h + s]: columns 8h .. 8h+7 for bytes 2s, 2s+1.
                a[8 * h + 2 * r] = Avx2.UnpackLow(t[8 * h + r].AsUInt32(), t[8 * h + 4 + r].AsUInt32()).AsByte();
                a[8 * h + 2 * r + 1] = Avx2.UnpackHigh(t[8 * h + r].AsUInt32(), t[8 * h + 4 + r].AsUInt32()).AsByte();
            }
        }

        for (var s = 0; s < 8; s++)
        {
            t[2 * s] = Avx2.UnpackLow(a[s].AsUInt64(), a[8 + s].AsUInt64()).AsByte();
            t[2 * s + 1] = Avx2.UnpackHigh(a[s].AsUInt64(), a[8 + s].AsUInt64()).AsByte();
        }
    }

    [InlineArray(16)]
    private struct Tile
    {
        private Vector256<byte> element;
    }
}
