using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;

namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>
/// The deterministic functions of kkrt-v1 (docs/protocols/psi.md, "OT extension: KKRT16"): cuckoo positions h_i, the
/// pseudorandom code C(y, i), the tag, the base-OT hash G_j, random element and key derivation.
/// </summary>
internal static class KkrtPrimitives
{
    /// <summary>Bytes of one AES block.</summary>
    public const int Block = 16;

    /// <summary>Bytes of one codeword (512 bits).</summary>
    public const int CodeBytes = KkrtParameters.RowBytes;

    public static ReadOnlySpan<byte> TagLabel => "smpc/psi/kkrt/v1/tag"u8;

    public static ReadOnlySpan<byte> OtKeyLabel => "smpc/psi/kkrt/v1/ot-key"u8;

    public static ReadOnlySpan<byte> OtHashDst => "smpc/psi/kkrt/v1/ot-hash"u8;

    public static ReadOnlySpan<byte> OtRandomDst => "smpc/psi/kkrt/v1/ot-random"u8;

    /// <summary>⌊LE64(block[0..8)) · m / 2^64⌋: the high 64 bits of the 128-bit product.</summary>
    public static long Position(ReadOnlySpan<byte> encryptedBlock, long bins) =>
        (long)Math.BigMul(BinaryPrimitives.ReadUInt64LittleEndian(encryptedBlock), (ulong)bins, out _);

    /// <summary>h_0, h_1, h_2 of each digest under the cuckoo key: positions[3k + i] = h_i(digest k).</summary>
    /// <remarks>Inputs built in vector registers, 3 × 1,024 blocks per AES call; no allocation.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Positions(Aes128Ecb hashKey, ReadOnlySpan<byte> digests, long bins, Span<int> positions)
    {
        const int H = KkrtParameters.HashFunctions;
        var count = digests.Length / KkrtItems.DigestBytes;
        if (positions.Length < count * H)
        {
            throw new ArgumentException("Room for three positions per digest.", nameof(positions));
        }

        const int Chunk = 1024;
        Span<Vector128<byte>> blocks = stackalloc Vector128<byte>[Chunk * H];
        var input = MemoryMarshal.Cast<byte, Vector128<byte>>(digests[..(count * KkrtItems.DigestBytes)]);
        var sigma1 = Vector128.CreateScalar((byte)1);
        var sigma2 = Vector128.CreateScalar((byte)2);
        for (var start = 0; start < count; start += Chunk)
        {
            var take = Math.Min(Chunk, count - start);
            var used = blocks[..(take * H)];
            for (var k = 0; k < take; k++)
            {
                var d = input[start + k];
                used[H * k] = d; // σ_0 = 0
                used[(H * k) + 1] = d ^ sigma1;
                used[(H * k) + 2] = d ^ sigma2;
            }

            var bytes = MemoryMarshal.AsBytes(used);
            hashKey.Encrypt(bytes, bytes);
            var output = positions.Slice(start * H, take * H);
            for (var t = 0; t < output.Length; t++)
            {
                output[t] = (int)Math.BigMul(used[t].AsUInt64().ToScalar(), (ulong)bins, out _);
            }
        }
    }

    /// <summary>The four AES inputs of C(y, i): d(y) ⊕ τ_{i,j}, τ_{i,j} = zero but byte 0 = 4i + j.</summary>
    public static void CodeInputs(ReadOnlySpan<byte> digest, int function, Span<byte> blocks)
    {
        var d = Vector128.Create(digest);
        var output = MemoryMarshal.Cast<byte, Vector128<byte>>(blocks[..(4 * Block)]);
        for (var j = 0; j < 4; j++)
        {
            output[j] = d ^ Vector128.CreateScalar((byte)((4 * function) + j));
        }
    }

    /// <summary>C(y, i) = AES_ck(d ⊕ τ_{i,0}) ‖ … ‖ AES_ck(d ⊕ τ_{i,3}) (64 bytes).</summary>
    public static void Code(Aes128Ecb codeKey, ReadOnlySpan<byte> digest, int function, Span<byte> code)
    {
        CodeInputs(digest, function, code);
        codeKey.Encrypt(code, code);
    }

    /// <summary>Tag(b, row) = SHA-256("smpc/psi/kkrt/v1/tag" ‖ BE32(b) ‖ row)[0..ℓ), as a big-endian 128-bit key (tag bytes first, zero padded).</summary>
    public static UInt128 Tag(long bin, ReadOnlySpan<byte> row, int tagBytes)
    {
        Span<byte> input = stackalloc byte[20 + 4 + KkrtParameters.RowBytes];
        TagLabel.CopyTo(input);
        BinaryPrimitives.WriteUInt32BigEndian(input[TagLabel.Length..], (uint)bin);
        row.CopyTo(input[(TagLabel.Length + 4)..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        hash[tagBytes..].Clear();
        return BinaryPrimitives.ReadUInt128BigEndian(hash);
    }

    /// <summary>Tags of many rows: <paramref name="output"/>[k] = <see cref="Tag"/>(bins[k], row k of <paramref name="rows"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tags(ReadOnlySpan<int> bins, ReadOnlySpan<byte> rows, int tagBytes, Span<UInt128> output)
    {
        var k = 0;
        if (Sha256x8.IsSupported)
        {
            // Eight tags per AVX2 SHA-256 pass (~5× one SHA256.HashData call each, docs/performance.md "kkrt PSI kernels").
            Span<uint> group = stackalloc uint[8];
            Span<byte> digests = stackalloc byte[8 * 32];
            for (; k + 8 <= bins.Length; k += 8)
            {
                for (var i = 0; i < 8; i++)
                {
                    group[i] = (uint)bins[k + i];
                }

                Sha256x8.HashTagInputs(KkrtKernels.TagLabelWords, group, rows.Slice(k * KkrtParameters.RowBytes, 8 * KkrtParameters.RowBytes), digests);
                for (var i = 0; i < 8; i++)
                {
                    var hash = digests.Slice(32 * i, 32);
                    hash[tagBytes..].Clear();
                    output[k + i] = BinaryPrimitives.ReadUInt128BigEndian(hash);
                }
            }
        }

        for (; k < bins.Length; k++)
        {
            output[k] = Tag(bins[k], rows.Slice(k * KkrtParameters.RowBytes, KkrtParameters.RowBytes), tagBytes);
        }
    }

    /// <summary>
    /// Sorts tags ascending: a counting pass on the top bits (tags are hash outputs, so buckets hold about one tag each), then
    /// each bucket by insertion sort when it holds at most <see cref="InsertionSortLimit"/> tags, else with
    /// <see cref="Array.Sort{T}(T[], int, int)"/> (introsort: no quadratic case whatever the input).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SortTags(UInt128[] tags)
    {
        if (tags.Length < 2)
        {
            return;
        }

        var bits = Math.Clamp(62 - (int)ulong.LeadingZeroCount((ulong)tags.Length), 1, 24); // about 2–4 tags per bucket: a small count table
        var shift = 64 - bits;
        var ends = new int[(1 << bits) + 1];
        foreach (var tag in tags)
        {
            ends[(int)(Upper(tag) >> shift) + 1]++;
        }

        for (var b = 1; b < ends.Length; b++)
        {
            ends[b] += ends[b - 1];
        }

        // ends[b] is now where bucket b starts; after the scatter it is where bucket b ends (= where bucket b + 1 starts).
        var sorted = new UInt128[tags.Length];
        foreach (var tag in tags)
        {
            sorted[ends[(int)(Upper(tag) >> shift)]++] = tag;
        }

        var start = 0;
        for (var b = 0; b < ends.Length - 1; b++)
        {
            var end = ends[b];
            var length = end - start;
            if (length > InsertionSortLimit)
            {
                Array.Sort(sorted, start, length);
            }
            else if (length > 1)
            {
                InsertionSort(sorted.AsSpan(start, length));
            }

            start = end;
        }

        sorted.CopyTo(tags, 0);
    }

    /// <summary>Largest bucket <see cref="SortTags"/> sorts by insertion (quadratic, so only for tiny buckets).</summary>
    internal const int InsertionSortLimit = 16;

    private static void InsertionSort(Span<UInt128> items)
    {
        for (var i = 1; i < items.Length; i++)
        {
            var x = items[i];
            var j = i - 1;
            while (j >= 0 && items[j] > x)
            {
                items[j + 1] = items[j];
                j--;
            }

            items[j + 1] = x;
        }
    }

    /// <summary>The high 64 bits of a tag key (its first eight bytes).</summary>
    internal static ulong Upper(UInt128 tag) => (ulong)(tag >> 64);

    /// <summary>Writes tags as consecutive ℓ-byte strings: destination holds exactly tags.Length × ℓ bytes (ℓ ≤ 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WriteTags(ReadOnlySpan<UInt128> tags, int tagBytes, Span<byte> destination)
    {
        if (tagBytes is <= 0 or > 16 || destination.Length != (long)tags.Length * tagBytes)
        {
            throw new ArgumentException("One ℓ-byte tag per key, 1 ≤ ℓ ≤ 16.", nameof(destination));
        }

        // 16-byte stores while they stay inside the destination (each overruns only into the next tag's bytes, written next).
        var k = 0;
        for (; k < tags.Length && (k * tagBytes) + 16 <= destination.Length; k++)
        {
            BinaryPrimitives.WriteUInt128BigEndian(destination.Slice(k * tagBytes, 16), tags[k]);
        }

        for (; k < tags.Length; k++)
        {
            WriteTag(tags[k], destination.Slice(k * tagBytes, tagBytes));
        }
    }

    /// <summary>Reads consecutive ℓ-byte tags (ℓ ≤ 16) as keys comparable with <see cref="Tag"/>: source holds exactly destination.Length × ℓ bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReadTags(ReadOnlySpan<byte> source, int tagBytes, Span<UInt128> destination)
    {
        if (tagBytes is <= 0 or > 16 || source.Length != (long)destination.Length * tagBytes)
        {
            throw new ArgumentException("One ℓ-byte tag per key, 1 ≤ ℓ ≤ 16.", nameof(source));
        }

        var mask = UInt128.MaxValue << (8 * (16 - tagBytes));
        var k = 0;
        for (; k < destination.Length && (k * tagBytes) + 16 <= source.Length; k++)
        {
            destination[k] = BinaryPrimitives.ReadUInt128BigEndian(source.Slice(k * tagBytes, 16)) & mask;
        }

        for (; k < destination.Length; k++)
        {
            destination[k] = ReadTag(source.Slice(k * tagBytes, tagBytes));
        }
    }

    /// <summary>Writes the ℓ tag bytes of a key made by <see cref="Tag"/>.</summary>
    public static void WriteTag(UInt128 tag, Span<byte> destination)
    {
        Span<byte> full = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(full, tag);
        full[..destination.Length].CopyTo(destination);
    }

    /// <summary>Reads ℓ tag bytes as a key comparable with <see cref="Tag"/> (bytewise order = numeric order).</summary>
    public static UInt128 ReadTag(ReadOnlySpan<byte> tag)
    {
        Span<byte> full = stackalloc byte[16];
        full.Clear();
        tag.CopyTo(full);
        return BinaryPrimitives.ReadUInt128BigEndian(full);
    }

    /// <summary>G_j(P) = H2G(BE32(j) ‖ P, "smpc/psi/kkrt/v1/ot-hash").</summary>
    public static void OtHash(int j, ReadOnlySpan<byte> point, Span<byte> element)
    {
        Span<byte> message = stackalloc byte[4 + Ristretto255.Size];
        BinaryPrimitives.WriteUInt32BigEndian(message, (uint)j);
        point.CopyTo(message[4..]);
        Ristretto255.HashToGroup(message, OtHashDst, element);
    }

    /// <summary>A random element: H2G(seed, "smpc/psi/kkrt/v1/ot-random") for 32 random bytes.</summary>
    public static void OtRandomElement(ReadOnlySpan<byte> seed, Span<byte> element) => Ristretto255.HashToGroup(seed, OtRandomDst, element);

    /// <summary>KDF(j, c, S) = SHA-256("smpc/psi/kkrt/v1/ot-key" ‖ BE32(j) ‖ byte(c) ‖ R_{j,0} ‖ R_{j,1} ‖ B_j ‖ S)[0..16).</summary>
    public static void OtKey(int j, int choice, ReadOnlySpan<byte> r0, ReadOnlySpan<byte> r1, ReadOnlySpan<byte> b, ReadOnlySpan<byte> shared, Span<byte> key)
    {
        Span<byte> input = stackalloc byte[23 + 4 + 1 + (4 * Ristretto255.Size)];
        OtKeyLabel.CopyTo(input);
        var at = OtKeyLabel.Length;
        BinaryPrimitives.WriteUInt32BigEndian(input[at..], (uint)j);
        at += 4;
        input[at++] = (byte)choice;
        r0.CopyTo(input[at..]);
        r1.CopyTo(input[(at + 32)..]);
        b.CopyTo(input[(at + 64)..]);
        shared.CopyTo(input[(at + 96)..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        hash[..16].CopyTo(key);
        CryptographicOperations.ZeroMemory(input);
        CryptographicOperations.ZeroMemory(hash);
    }
}
