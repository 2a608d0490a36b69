namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>
/// Membership in one sorted list of tag keys (the pod's reply list L_i, see <see cref="KkrtPrimitives.ReadTags"/>): a table of
/// where each top-bits bucket starts, so a lookup reads one bucket (about one tag, since honest tags are uniform) instead of
/// binary-searching the whole list; a bucket longer than a few tags (a skewed list from a dishonest pod) is binary-searched,
/// so no input makes a lookup cost more than O(log n).
/// </summary>
internal sealed class KkrtTagIndex
{
    private const int LinearLimit = 8;

    private readonly UInt128[] list;
    private readonly int[] starts;
    private readonly int shift;

    /// <summary>An index over <paramref name="sortedList"/> (ascending; not copied, not to be changed while in use).</summary>
    public KkrtTagIndex(UInt128[] sortedList)
    {
        list = sortedList;
        var bits = Math.Clamp(64 - (int)ulong.LeadingZeroCount((ulong)sortedList.Length), 1, 24);
        shift = 64 - bits;
        starts = new int[(1 << bits) + 1];
        foreach (var tag in sortedList)
        {
            starts[Bucket(tag) + 1]++;
        }

        for (var b = 1; b < starts.Length; b++)
        {
            starts[b] += starts[b - 1];
        }
    }

    /// <summary>True when <paramref name="tag"/> is in the list.</summary>
    public bool Contains(UInt128 tag)
    {
        var b = Bucket(tag);
        var from = starts[b];
        var to = starts[b + 1];
        if (to - from > LinearLimit)
        {
            return Array.BinarySearch(list, from, to - from, tag) >= 0;
        }

        for (var k = from; k < to; k++)
        {
            if (list[k] == tag)
            {
                return true;
            }
        }

        return false;
    }

    private int Bucket(UInt128 tag) => (int)(KkrtPrimitives.Upper(tag) >> shift);
}
