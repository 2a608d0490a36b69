using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>The 16-byte item digest d(y) = SHA-256("smpc/psi/kkrt/v1/item" ‖ e(y))[0..16) of a canonical record e(y), and de-duplication by it.</summary>
public static class KkrtItems
{
    /// <summary>Bytes of one item digest.</summary>
    public const int DigestBytes = 16;

    private static ReadOnlySpan<byte> Label => "smpc/psi/kkrt/v1/item"u8;

    /// <summary>Writes d(<paramref name="encodedRecord"/>) into <paramref name="digest"/> (16 bytes).</summary>
    public static void Digest(ReadOnlySpan<byte> encodedRecord, Span<byte> digest)
    {
        if (digest.Length != DigestBytes)
        {
            throw new ArgumentException("An item digest is 16 bytes.", nameof(digest));
        }

        var length = Label.Length + encodedRecord.Length;
        var rented = length > 512 ? ArrayPool<byte>.Shared.Rent(length) : null;
        var input = rented is null ? stackalloc byte[length] : rented.AsSpan(0, length);
        Label.CopyTo(input);
        encodedRecord.CopyTo(input[Label.Length..]);
        Span<byte> full = stackalloc byte[32];
        SHA256.HashData(input, full);
        full[..DigestBytes].CopyTo(digest);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented, clearArray: true);
        }
    }

    /// <summary>The digests of <paramref name="encodedRecords"/> in order, flat (16 bytes each), computed on all cores.</summary>
    public static byte[] Digests(IReadOnlyList<byte[]> encodedRecords)
    {
        ArgumentNullException.ThrowIfNull(encodedRecords);
        var output = new byte[(long)encodedRecords.Count * DigestBytes];
        Parallel.For(0, encodedRecords.Count, i => Digest(encodedRecords[i], output.AsSpan(i * DigestBytes, DigestBytes)));
        return output;
    }

    /// <summary>
    /// De-duplicates flat digests: the distinct digests (in order of first appearance) and, for each input digest, the index
    /// of its distinct digest, so a match can be mapped back to every row that holds the record.
    /// </summary>
    public static (byte[] Distinct, int[] RowToDistinct) Distinct(ReadOnlySpan<byte> digests)
    {
        if (digests.Length % DigestBytes != 0)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "item digests are 16 bytes each");
        }

        var count = digests.Length / DigestBytes;
        var index = new Dictionary<UInt128, int>(count);
        var rowToDistinct = new int[count];
        var distinct = new byte[count * DigestBytes];
        var next = 0;
        for (var i = 0; i < count; i++)
        {
            var key = BinaryPrimitives.ReadUInt128LittleEndian(digests.Slice(i * DigestBytes, DigestBytes));
            if (!index.TryGetValue(key, out var slot))
            {
                slot = next++;
                index.Add(key, slot);
                digests.Slice(i * DigestBytes, DigestBytes).CopyTo(distinct.AsSpan(slot * DigestBytes));
            }

            rowToDistinct[i] = slot;
        }

        return (distinct.AsSpan(0, next * DigestBytes).ToArray(), rowToDistinct);
    }

    /// <summary>Refuses flat digests that are not whole 16-byte digests or not distinct; returns their count.</summary>
    internal static int CheckDistinct(ReadOnlySpan<byte> digests, string who)
    {
        if (digests.Length % DigestBytes != 0)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, $"{who}: item digests are 16 bytes each");
        }

        var count = digests.Length / DigestBytes;
        var keys = new UInt128[count];
        for (var i = 0; i < count; i++)
        {
            // Big-endian: the key's top bits are the digest's first bytes (uniform), which the bucket sort splits on.
            keys[i] = BinaryPrimitives.ReadUInt128BigEndian(digests.Slice(i * DigestBytes, DigestBytes));
        }

        KkrtPrimitives.SortTags(keys); // digests are hash outputs: the bucket sort (introsort on any skewed bucket)
        for (var i = 1; i < count; i++)
        {
            if (keys[i] == keys[i - 1])
            {
                throw new ProtocolException(ProtocolError.Duplicate, $"{who}: the item digests are not distinct (de-duplicate with KkrtItems.Distinct)");
            }
        }

        return count;
    }
}
