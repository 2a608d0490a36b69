using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>Helpers shared by both PSI protocols: de-duplication, shuffling, element-list wire format.</summary>
public static class PsiElements
{
    /// <summary>Removes duplicates (keeping first occurrences) and shuffles with <paramref name="random"/>.</summary>
    public static byte[][] DeduplicateAndShuffle(IEnumerable<byte[]> elements, IRandomSource random)
    {
        var unique = elements.Distinct(ByteArrayComparer.Instance).ToArray();
        random.Shuffle(unique.AsSpan());
        return unique;
    }

    /// <summary>Wire form of a list of fixed-size elements: BE32 count ‖ BE32 size ‖ count × size bytes.</summary>
    public static byte[] Serialize(IReadOnlyList<byte[]> elements, int elementSize)
    {
        ArgumentNullException.ThrowIfNull(elements);
        var result = new byte[8 + ((long)elements.Count * elementSize)];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(result, (uint)elements.Count);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(4), (uint)elementSize);
        for (var i = 0; i < elements.Count; i++)
        {
            if (elements[i].Length != elementSize)
            {
                throw new MessageRejectedException(ProtocolError.Malformed, $"element {i} has {elements[i].Length} bytes, expected {elementSize}");
            }

            elements[i].CopyTo(result, 8 + ((long)i * elementSize));
        }

        return result;
    }

    /// <summary>Parses <see cref="Serialize"/>'s form, refusing any other element size or a length mismatch.</summary>
    public static byte[][] Deserialize(ReadOnlySpan<byte> data, int elementSize)
    {
        if (data.Length < 8)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "element list shorter than its header");
        }

        var count = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(data);
        var size = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
        if (size != elementSize || (ulong)data.Length - 8 != count * (ulong)size)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"element list declares {count} × {size} bytes, expected size {elementSize} and {data.Length - 8} payload bytes");
        }

        var result = new byte[count][];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = data.Slice(8 + (i * elementSize), elementSize).ToArray();
        }

        return result;
    }

    /// <summary>Refuses a flat buffer that is not a whole number of <paramref name="elementSize"/>-byte elements.</summary>
    public static void CheckFlat(int length, int elementSize)
    {
        if (elementSize <= 0 || length % elementSize != 0)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"{length} bytes is not a whole number of {elementSize}-byte elements");
        }
    }

    /// <summary>
    /// Sorts the flat elements ascending (unsigned bytewise) and drops duplicates. Encoded PSI elements are pseudorandom
    /// under a key the receiver does not hold, so their sorted order is a uniformly random order to the receiver: sorting
    /// both shuffles and de-duplicates, and lets the receiver merge-join in constant memory.
    /// </summary>
    public static byte[] SortUnique(byte[] flat, int elementSize) => SortUnique(flat, elementSize, unique: true);

    /// <summary>Sorts the flat elements ascending, dropping duplicates only when <paramref name="unique"/>.</summary>
    public static byte[] SortUnique(byte[] flat, int elementSize, bool unique)
    {
        ArgumentNullException.ThrowIfNull(flat);
        CheckFlat(flat.Length, elementSize);
        var count = flat.Length / elementSize;
        var order = new int[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }

        Array.Sort(order, (x, y) => flat.AsSpan(x * elementSize, elementSize).SequenceCompareTo(flat.AsSpan(y * elementSize, elementSize)));
        var output = new byte[flat.Length];
        var written = 0;
        foreach (var i in order)
        {
            var element = flat.AsSpan(i * elementSize, elementSize);
            if (unique && written > 0 && output.AsSpan((written - 1) * elementSize, elementSize).SequenceEqual(element))
            {
                continue;
            }

            element.CopyTo(output.AsSpan(written * elementSize));
            written++;
        }

        return written == count ? output : output[..(written * elementSize)];
    }

    /// <summary>True when the flat elements are strictly ascending, continuing from <paramref name="previous"/> (empty: none yet).</summary>
    public static bool IsStrictlyAscending(ReadOnlySpan<byte> flat, int elementSize, ReadOnlySpan<byte> previous)
    {
        CheckFlat(flat.Length, elementSize);
        for (var offset = 0; offset < flat.Length; offset += elementSize)
        {
            var element = flat.Slice(offset, elementSize);
            if (!previous.IsEmpty && previous.SequenceCompareTo(element) >= 0)
            {
                return false;
            }

            previous = element;
        }

        return true;
    }

    /// <summary>
    /// Claims a key's one query of <paramref name="count"/> elements: refuses one over <paramref name="maxQuerySize"/>
    /// (not using the key up), then flips <paramref name="answered"/> atomically so of two concurrent claims one wins.
    /// </summary>
    internal static void ClaimQuery(ref int answered, long count, int maxQuerySize, Func<Exception> alreadyAnswered)
    {
        if (count < 0 || count > maxQuerySize)
        {
            throw new ProtocolException(ProtocolError.PolicyRefused, $"query of {count} elements exceeds the pod's maximum of {maxQuerySize}");
        }

        if (Interlocked.Exchange(ref answered, 1) != 0)
        {
            throw alreadyAnswered();
        }
    }
}
