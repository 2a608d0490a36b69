using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;

namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>
/// The per-item and per-row hot kernels of kkrt-v1 (docs/protocols/psi.md, "kkrt"): cuckoo positions h_i (step 2), the
/// pseudorandom code C(y, i) (step 3), the row algebra and the tags Tag(b, row) (step 5). Pure functions, no allocation.
/// </summary>
public static class KkrtKernels
{
    /// <summary>Bytes of the tag hash prefix "smpc/psi/kkrt/v1/tag".</summary>
    private static ReadOnlySpan<byte> TagLabel => "smpc/psi/kkrt/v1/tag"u8;

    /// <summary>Bytes hashed per tag: label ‖ BE32(b) ‖ row.</summary>
    private const int TagInputBytes = 20 + 4 + KkrtParameters.RowBytes;

    /// <summary>
    /// The three cuckoo positions of an item (step 2): positions[i] = ⌊LE64(AES_hk(d ⊕ σ_i)[0..8)) · m / 2^64⌋ for i = 0, 1, 2,
    /// σ_i = 16 zero bytes but byte 0 = i.
    /// </summary>
    public static void CuckooPositions(Aes128Ecb hashKey, ReadOnlySpan<byte> digest, long bins, Span<long> positions)
    {
        ArgumentNullException.ThrowIfNull(hashKey);
        if (digest.Length != KkrtItems.DigestBytes) throw new ArgumentException("A 16-byte item digest.", nameof(digest));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bins);
        if (positions.Length < KkrtParameters.HashFunctions) throw new ArgumentException("Room for three positions.", nameof(positions));

        Span<byte> blocks = stackalloc byte[48];
        var d = Vector128.Create(digest);
        for (var i = 0; i < KkrtParameters.HashFunctions; i++) (d ^ Tweak(i)).CopyTo(blocks[(16 * i)..]);
        hashKey.Encrypt(blocks, blocks);
        for (var i = 0; i < KkrtParameters.HashFunctions; i++)
        {
            var x = BinaryPrimitives.ReadUInt64LittleEndian(blocks[(16 * i)..]);
            positions[i] = (long)Math.BigMul(x, (ulong)bins, out _);
        }
    }

    /// <summary>The code word C(y, i) of step 3: AES_ck(d ⊕ τ_{i,0}) ‖ … ‖ AES_ck(d ⊕ τ_{i,3}), τ_{i,j} = zero but byte 0 = 4i + j (64 bytes).</summary>
    public static void Code(Aes128Ecb codeKey, ReadOnlySpan<byte> digest, int hashIndex, Span<byte> code)
    {
        ArgumentNullException.ThrowIfNull(codeKey);
        if (digest.Length != KkrtItems.DigestBytes) throw new ArgumentException("A 16-byte item digest.", nameof(digest));
        if ((uint)hashIndex >= KkrtParameters.HashFunctions) throw new ArgumentOutOfRangeException(nameof(hashIndex));
        if (code.Length != KkrtParameters.RowBytes) throw new ArgumentException("A 64-byte code word.", nameof(code));

        var d = Vector128.Create(digest);
        for (var j = 0; j < 4; j++) (d ^ Tweak(4 * hashIndex + j)).CopyTo(code[(16 * j)..]);
        codeKey.Encrypt(code, code);
    }

    /// <summary>The three code words C(y, 0) ‖ C(y, 1) ‖ C(y, 2) of one item (192 bytes; twelve AES blocks in one pipelined call).</summary>
    public static void Codes(Aes128Ecb codeKey, ReadOnlySpan<byte> digest, Span<byte> codes)
    {
        ArgumentNullException.ThrowIfNull(codeKey);
        if (digest.Length != KkrtItems.DigestBytes) throw new ArgumentException("A 16-byte item digest.", nameof(digest));
        if (codes.Length != KkrtParameters.HashFunctions * KkrtParameters.RowBytes) throw new ArgumentException("Three 64-byte code words.", nameof(codes));

        var d = Vector128.Create(digest);
        for (var t = 0; t < 4 * KkrtParameters.HashFunctions; t++) (d ^ Tweak(t)).CopyTo(codes[(16 * t)..]);
        codeKey.Encrypt(codes, codes);
    }

    /// <summary>destination = a ⊕ b (equal lengths; destination may alias either).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Xor(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> destination)
    {
        if (a.Length != b.Length || destination.Length != a.Length) throw new ArgumentException("Equal lengths.");
        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        ref var rd = ref MemoryMarshal.GetReference(destination);
        nuint i = 0;
        var n = (nuint)a.Length;
        for (; i + 32 <= n; i += 32) (Vector256.LoadUnsafe(ref ra, i) ^ Vector256.LoadUnsafe(ref rb, i)).StoreUnsafe(ref rd, i);
        for (; i < n; i++) destination[(int)i] = (byte)(a[(int)i] ^ b[(int)i]);
    }

    /// <summary>destination = row ⊕ (code ∧ mask), one 64-byte row (the pod's Q_b ⊕ (C(y, i) ∧ s) and Q_b = T^s_b ⊕ (U_b ∧ s)).</summary>
    public static void XorMasked(ReadOnlySpan<byte> row, ReadOnlySpan<byte> code, ReadOnlySpan<byte> mask, Span<byte> destination)
    {
        const int n = KkrtParameters.RowBytes;
        if (row.Length != n || code.Length != n || mask.Length != n || destination.Length != n) throw new ArgumentException("64-byte rows.");
        ref var rr = ref MemoryMarshal.GetReference(row);
        ref var rc = ref MemoryMarshal.GetReference(code);
        ref var rm = ref MemoryMarshal.GetReference(mask);
        ref var rd = ref MemoryMarshal.GetReference(destination);
        var lo = Vector256.LoadUnsafe(ref rr) ^ (Vector256.LoadUnsafe(ref rc) & Vector256.LoadUnsafe(ref rm));
        var hi = Vector256.LoadUnsafe(ref rr, 32) ^ (Vector256.LoadUnsafe(ref rc, 32) & Vector256.LoadUnsafe(ref rm, 32));
        lo.StoreUnsafe(ref rd);
        hi.StoreUnsafe(ref rd, 32);
    }

    /// <summary>Tag(b, row) = SHA-256("smpc/psi/kkrt/v1/tag" ‖ BE32(b) ‖ row)[0..ℓ) for one 64-byte row; ℓ = <paramref name="tag"/>.Length (1..32).</summary>
    public static void Tag(long bin, ReadOnlySpan<byte> row, Span<byte> tag)
    {
        if ((ulong)bin > uint.MaxValue) throw new ArgumentOutOfRangeException(nameof(bin), "A bin index fits BE32.");
        if (row.Length != KkrtParameters.RowBytes) throw new ArgumentException("A 64-byte row.", nameof(row));
        if (tag.Length is 0 or > 32) throw new ArgumentException("A tag of 1..32 bytes.", nameof(tag));

        Span<byte> input = stackalloc byte[TagInputBytes];
        TagLabel.CopyTo(input);
        BinaryPrimitives.WriteUInt32BigEndian(input[20..], (uint)bin);
        row.CopyTo(input[24..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        hash[..tag.Length].CopyTo(tag);
    }

    /// <summary>Tags of consecutive bins: tag k of <paramref name="tags"/> (ℓ = <paramref name="tagBytes"/> bytes) is Tag(firstBin + k, row k of <paramref name="rows"/>).</summary>
    /// <remarks>Eight tags per AVX2 pass (<c>Sha256x8</c>), the rest through <see cref="SHA256"/>.</remarks>
    public static void Tags(long firstBin, ReadOnlySpan<byte> rows, int tagBytes, Span<byte> tags)
    {
        var count = CheckTagShapes(rows, tagBytes, tags);
        if (firstBin is < 0 or > uint.MaxValue || firstBin + count - 1 > uint.MaxValue) throw new ArgumentOutOfRangeException(nameof(firstBin), "Bin indices fit BE32.");

        Span<uint> bins = stackalloc uint[8];
        for (var k = 0; k < count; k += 8)
        {
            var n = Math.Min(8, count - k);
            for (var i = 0; i < n; i++) bins[i] = (uint)(firstBin + k + i);
            TagGroup(bins[..n], rows.Slice(k * KkrtParameters.RowBytes, n * KkrtParameters.RowBytes), tagBytes, tags.Slice(k * tagBytes, n * tagBytes));
        }
    }

    /// <summary>Tags of scattered bins: tag k of <paramref name="tags"/> (ℓ = <paramref name="tagBytes"/> bytes) is Tag(bins[k], row k of <paramref name="rows"/>).</summary>
    /// <remarks>The pod's per-item tags: Tag(h_i(y), Q_b ⊕ (C(y, i) ∧ s)); eight per AVX2 pass.</remarks>
    public static void Tags(ReadOnlySpan<uint> bins, ReadOnlySpan<byte> rows, int tagBytes, Span<byte> tags)
    {
        var count = CheckTagShapes(rows, tagBytes, tags);
        if (bins.Length != count) throw new ArgumentException("One bin per row.", nameof(bins));
        for (var k = 0; k < count; k += 8)
        {
            var n = Math.Min(8, count - k);
            TagGroup(bins.Slice(k, n), rows.Slice(k * KkrtParameters.RowBytes, n * KkrtParameters.RowBytes), tagBytes, tags.Slice(k * tagBytes, n * tagBytes));
        }
    }

    private static int CheckTagShapes(ReadOnlySpan<byte> rows, int tagBytes, Span<byte> tags)
    {
        if (rows.Length % KkrtParameters.RowBytes != 0) throw new ArgumentException("Whole 64-byte rows.", nameof(rows));
        var count = rows.Length / KkrtParameters.RowBytes;
        if (tagBytes is <= 0 or > 32 || tags.Length != (long)count * tagBytes) throw new ArgumentException("One ℓ-byte tag per row, 1 ≤ ℓ ≤ 32.", nameof(tags));
        return count;
    }

    // Up to eight tags: one AVX2 pass when there are eight, else one SHA256.HashData call each.
    private static void TagGroup(ReadOnlySpan<uint> bins, ReadOnlySpan<byte> rows, int tagBytes, Span<byte> tags)
    {
        if (bins.Length == 8 && Sha256x8.IsSupported)
        {
            Span<byte> digests = stackalloc byte[8 * 32];
            Sha256x8.HashTagInputs(TagLabelWords, bins, rows, digests);
            for (var k = 0; k < 8; k++) digests.Slice(32 * k, tagBytes).CopyTo(tags[(k * tagBytes)..]);
            return;
        }

        Span<byte> input = stackalloc byte[TagInputBytes];
        Span<byte> hash = stackalloc byte[32];
        TagLabel.CopyTo(input);
        for (var k = 0; k < bins.Length; k++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(input[20..], bins[k]);
            rows.Slice(k * KkrtParameters.RowBytes, KkrtParameters.RowBytes).CopyTo(input[24..]);
            SHA256.HashData(input, hash);
            hash[..tagBytes].CopyTo(tags[(k * tagBytes)..]);
        }
    }

    // The tag label as five big-endian 32-bit words (the first five message words of every tag hash).
    internal static ReadOnlySpan<uint> TagLabelWords => [0x736d7063, 0x2f707369, 0x2f6b6b72, 0x742f7631, 0x2f746167];

    // 16 zero bytes but byte 0 = t: σ_i (t = i) and τ_{i,j} (t = 4i + j).
    private static Vector128<byte> Tweak(int t) => Vector128.CreateScalar((byte)t);
}
