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
}
