using System.Buffers.Binary;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>A 32-byte PSI element or tag as a value: equality, hashing and unsigned bytewise order.</summary>
public readonly record struct PsiTag(ulong A, ulong B, ulong C, ulong D) : IComparable<PsiTag>
{
    /// <summary>Element size.</summary>
    public const int Size = 32;

    /// <summary>Reads 32 bytes.</summary>
    public static PsiTag Read(ReadOnlySpan<byte> bytes) => new(
        BinaryPrimitives.ReadUInt64BigEndian(bytes),
        BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
        BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
        BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]));

    /// <inheritdoc />
    public int CompareTo(PsiTag other)
    {
        var c = A.CompareTo(other.A);
        if (c != 0)
        {
            return c;
        }

        c = B.CompareTo(other.B);
        return c != 0 ? c : (c = C.CompareTo(other.C)) != 0 ? c : D.CompareTo(other.D);
    }
}

/// <summary>
/// Intersection mode, modeller side: its records' tags (in record order) merge-joined against the pod's encoded set,
/// which arrives strictly ascending in chunks. Memory is the modeller's set, whatever the size of the pod's.
/// </summary>
public sealed class SortedSetMatcher
{
    private readonly (PsiTag Tag, int Index)[] mine;
    private readonly bool[] matched;
    private int cursor;
    private PsiTag? previous;

    /// <summary>Takes the modeller's tags, 32 bytes per record, in record order.</summary>
    public SortedSetMatcher(ReadOnlySpan<byte> tags)
    {
        PsiElements.CheckFlat(tags.Length, PsiTag.Size);
        mine = new (PsiTag, int)[tags.Length / PsiTag.Size];
        for (var i = 0; i < mine.Length; i++)
        {
            mine[i] = (PsiTag.Read(tags.Slice(i * PsiTag.Size, PsiTag.Size)), i);
        }

        Array.Sort(mine, (x, y) => x.Tag.CompareTo(y.Tag));
        matched = new bool[mine.Length];
    }

    /// <summary>Pod elements seen so far.</summary>
    public long Seen { get; private set; }

    /// <summary>Consumes the next chunk of the pod's set; refuses a set that is not strictly ascending (unsorted or with duplicates).</summary>
    public void Feed(ReadOnlySpan<byte> elements)
    {
        PsiElements.CheckFlat(elements.Length, PsiTag.Size);
        for (var offset = 0; offset < elements.Length; offset += PsiTag.Size)
        {
            var element = PsiTag.Read(elements.Slice(offset, PsiTag.Size));
            if (previous is { } p && p.CompareTo(element) >= 0)
            {
                throw new MessageRejectedException(ProtocolError.Malformed, $"the pod's encoded set is not strictly ascending at element {Seen}");
            }

            previous = element;
            Seen++;
            while (cursor < mine.Length && mine[cursor].Tag.CompareTo(element) < 0)
            {
                cursor++;
            }

            for (var j = cursor; j < mine.Length && mine[j].Tag.Equals(element); j++)
            {
                matched[mine[j].Index] = true;
            }
        }
    }

    /// <summary>The indices of the modeller's records found in the pod's set, ascending.</summary>
    public int[] MatchedIndices() => [.. Enumerable.Range(0, matched.Length).Where(i => matched[i])];
}
