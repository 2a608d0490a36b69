using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>
/// Eight SHA-256 (FIPS 180-4) hashes at once, one per 32-bit lane of AVX2 registers, of the fixed 88-byte tag input
/// "smpc/psi/kkrt/v1/tag" ‖ BE32(b) ‖ row (two compression blocks). .NET exposes no SHA-NI intrinsics and a one-shot
/// <c>SHA256.HashData</c> costs ~200 ns of call overhead and padding for 88 bytes; eight lanes amortise the message handling.
/// </summary>
internal static class Sha256x8
{
    /// <summary>Whether this CPU runs the eight-lane kernel.</summary>
    public static bool IsSupported => Avx2.IsSupported;

    private static ReadOnlySpan<uint> K =>
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    /// <summary>
    /// digests[32k ..] = SHA-256(label ‖ BE32(bins[k]) ‖ rows[64k .. 64k + 64)) for k = 0..7 (label = the 20-byte tag label,
    /// given as its five big-endian words).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void HashTagInputs(ReadOnlySpan<uint> labelWords, ReadOnlySpan<uint> bins, ReadOnlySpan<byte> rows, Span<byte> digests)
    {
        if (labelWords.Length != 5 || bins.Length != 8 || rows.Length != 8 * 64 || digests.Length != 8 * 32) throw new ArgumentException("Eight tag inputs.");

        // Row words, lane k = row k: words 0..7 and 8..15 of each row, transposed and read big-endian.
        ref var r = ref MemoryMarshal.GetReference(rows);
        var low = default(Block);
        var high = default(Block);
        for (var k = 0; k < 8; k++)
        {
            low[k] = Vector256.LoadUnsafe(ref r, (nuint)(64 * k)).AsUInt32();
            high[k] = Vector256.LoadUnsafe(ref r, (nuint)(64 * k + 32)).AsUInt32();
        }

        Transpose8x8(ref low);
        Transpose8x8(ref high);

        var w = default(Schedule);

        // Block 1: label (5 words) ‖ BE32(b) ‖ row words 0..9.
        for (var t = 0; t < 5; t++) w[t] = Vector256.Create(labelWords[t]);
        w[5] = Vector256.Create(bins);
        for (var t = 0; t < 8; t++) w[6 + t] = ByteSwap(low[t]);
        w[14] = ByteSwap(high[0]);
        w[15] = ByteSwap(high[1]);
        var state = default(Block);
        state[0] = Vector256.Create(0x6a09e667u);
        state[1] = Vector256.Create(0xbb67ae85u);
        state[2] = Vector256.Create(0x3c6ef372u);
        state[3] = Vector256.Create(0xa54ff53au);
        state[4] = Vector256.Create(0x510e527fu);
        state[5] = Vector256.Create(0x9b05688cu);
        state[6] = Vector256.Create(0x1f83d9abu);
        state[7] = Vector256.Create(0x5be0cd19u);
        Compress(ref state, ref w);

        // Block 2: row words 10..15 ‖ 0x80 ‖ zeros ‖ bit length 88 · 8 = 704 (64-bit big-endian).
        for (var t = 0; t < 6; t++) w[t] = ByteSwap(high[2 + t]);
        w[6] = Vector256.Create(0x80000000u);
        for (var t = 7; t < 15; t++) w[t] = Vector256<uint>.Zero;
        w[15] = Vector256.Create(704u);
        Compress(ref state, ref w);

        Transpose8x8(ref state);
        ref var d = ref MemoryMarshal.GetReference(digests);
        for (var k = 0; k < 8; k++) ByteSwap(state[k]).AsByte().StoreUnsafe(ref d, (nuint)(32 * k));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Compress(ref Block state, ref Schedule w)
    {
        for (var t = 16; t < 64; t++)
        {
            var w15 = w[t - 15];
            var w2 = w[t - 2];
            var s0 = Rotr(w15, 7) ^ Rotr(w15, 18) ^ Vector256.ShiftRightLogical(w15, 3);
            var s1 = Rotr(w2, 17) ^ Rotr(w2, 19) ^ Vector256.ShiftRightLogical(w2, 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }

        var a = state[0];
        var b = state[1];
        var c = state[2];
        var d = state[3];
        var e = state[4];
        var f = state[5];
        var g = state[6];
        var h = state[7];
        ref var k = ref MemoryMarshal.GetReference(K);
        for (var t = 0; t < 64; t++)
        {
            var t1 = h + (Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25)) + (g ^ (e & (f ^ g))) + Vector256.Create(Unsafe.Add(ref k, t)) + w[t]; // Ch(e, f, g)
            var t2 = (Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22)) + (b ^ ((a ^ b) & (b ^ c))); // Maj(a, b, c)
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }

        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Rotr(Vector256<uint> x, [ConstantExpected] int n) =>
        Vector256.ShiftRightLogical(x, n) | Vector256.ShiftLeft(x, 32 - n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> ByteSwap(Vector256<uint> x) =>
        Avx2.Shuffle(x.AsByte(), Vector256.Create((byte)3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12)).AsUInt32();

    // 8 × 8 transpose of 32-bit words: input x[k] = words 0..7 of message k, output x[t] = word t of messages 0..7.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref Block x)
    {
        var t0 = Avx2.UnpackLow(x[0], x[1]);
        var t1 = Avx2.UnpackHigh(x[0], x[1]);
        var t2 = Avx2.UnpackLow(x[2], x[3]);
        var t3 = Avx2.UnpackHigh(x[2], x[3]);
        var t4 = Avx2.UnpackLow(x[4], x[5]);
        var t5 = Avx2.UnpackHigh(x[4], x[5]);
        var t6 = Avx2.UnpackLow(x[6], x[7]);
        var t7 = Avx2.UnpackHigh(x[6], x[7]);
        var u0 = Avx2.UnpackLow(t0.AsUInt64(), t2.AsUInt64()).AsUInt32();
        var u1 = Avx2.UnpackHigh(t0.AsUInt64(), t2.AsUInt64()).AsUInt32();
        var u2 = Avx2.UnpackLow(t1.AsUInt64(), t3.AsUInt64()).AsUInt32();
        var u3 = Avx2.UnpackHigh(t1.AsUInt64(), t3.AsUInt64()).AsUInt32();
        var u4 = Avx2.UnpackLow(t4.AsUInt64(), t6.AsUInt64()).AsUInt32();
        var u5 = Avx2.UnpackHigh(t4.AsUInt64(), t6.AsUInt64()).AsUInt32();
        var u6 = Avx2.UnpackLow(t5.AsUInt64(), t7.AsUInt64()).AsUInt32();
        var u7 = Avx2.UnpackHigh(t5.AsUInt64(), t7.AsUInt64()).AsUInt32();
        x[0] = Avx2.Permute2x128(u0, u4, 0x20);
        x[1] = Avx2.Permute2x128(u1, u5, 0x20);
        x[2] = Avx2.Permute2x128(u2, u6, 0x20);
        x[3] = Avx2.Permute2x128(u3, u7, 0x20);
        x[4] = Avx2.Permute2x128(u0, u4, 0x31);
        x[5] = Avx2.Permute2x128(u1, u5, 0x31);
        x[6] = Avx2.Permute2x128(u2, u6, 0x31);
        x[7] = Avx2.Permute2x128(u3, u7, 0x31);
    }

    [InlineArray(8)]
    private struct Block
    {
        private Vector256<uint> element;
    }

    [InlineArray(64)]
    private struct Schedule
    {
        private Vector256<uint> element;
    }
}
