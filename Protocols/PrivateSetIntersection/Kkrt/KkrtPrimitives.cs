using System.Buffers.Binary;
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
    public static void Positions(Aes128Ecb hashKey, ReadOnlySpan<byte> digests, long bins, Span<int> positions)
    {
        var count = digests.Length / KkrtItems.DigestBytes;
        const int Chunk = 1024;
        Span<byte> blocks = stackalloc byte[Chunk * KkrtParameters.HashFunctions * Block];
        for (var start = 0; start < count; start += Chunk)
        {
            var take = Math.Min(Chunk, count - start);
            var used = blocks[..(take * KkrtParameters.HashFunctions * Block)];
            for (var k = 0; k < take; k++)
            {
                var digest = digests.Slice((start + k) * KkrtItems.DigestBytes, KkrtItems.DigestBytes);
                for (var i = 0; i < KkrtParameters.HashFunctions; i++)
                {
                    var block = used.Slice(((k * KkrtParameters.HashFunctions) + i) * Block, Block);
                    digest.CopyTo(block);
                    block[0] ^= (byte)i; // σ_i
                }
            }

            hashKey.Encrypt(used, used);
            for (var t = 0; t < take * KkrtParameters.HashFunctions; t++)
            {
                positions[(start * KkrtParameters.HashFunctions) + t] = (int)Position(used.Slice(t * Block, Block), bins);
            }
        }
    }

    /// <summary>The four AES inputs of C(y, i): d(y) ⊕ τ_{i,j}, τ_{i,j} = zero but byte 0 = 4i + j.</summary>
    public static void CodeInputs(ReadOnlySpan<byte> digest, int function, Span<byte> blocks)
    {
        for (var j = 0; j < 4; j++)
        {
            var block = blocks.Slice(j * Block, Block);
            digest.CopyTo(block);
            block[0] ^= (byte)((4 * function) + j);
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
    /// each bucket with <see cref="Array.Sort{T}(T[], int, int)"/> (introsort: no quadratic case whatever the input).
    /// </summary>
    public static void SortTags(UInt128[] tags)
    {
        if (tags.Length < 2)
        {
            return;
        }

        var bits = Math.Clamp(64 - (int)ulong.LeadingZeroCount((ulong)tags.Length), 1, 24);
        var shift = 128 - bits;
        var starts = new int[(1 << bits) + 1];
        foreach (var tag in tags)
        {
            starts[(int)(tag >> shift) + 1]++;
        }

        for (var b = 1; b < starts.Length; b++)
        {
            starts[b] += starts[b - 1];
        }

        var sorted = new UInt128[tags.Length];
        var next = (int[])starts.Clone();
        foreach (var tag in tags)
        {
            sorted[next[(int)(tag >> shift)]++] = tag;
        }

        for (var b = 0; b < starts.Length - 1; b++)
        {
            var length = starts[b + 1] - starts[b];
            if (length > 1)
            {
                Array.Sort(sorted, starts[b], length);
            }
        }

        sorted.CopyTo(tags, 0);
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
