using System.Runtime.InteropServices;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Client.Psi;

/// <summary>
/// A party's kkrt item digests d(y) (16 bytes each), collected record by record and then de-duplicated: kkrt-v1 runs over
/// each party's distinct digests (docs/protocols/psi.md, kkrt step 1). The modeller keeps, for every record, which distinct
/// digest it became, so a match is mapped back to every row with that record.
/// </summary>
public sealed class KkrtDigests
{
    private readonly List<UInt128> _digests = [];

    /// <summary>Records added so far.</summary>
    public int Count => _digests.Count;

    /// <summary>Digests one canonically encoded record (the shared PSI record encoder's output) and keeps it.</summary>
    public void Add(ReadOnlySpan<byte> encodedRecord)
    {
        Span<byte> digest = stackalloc byte[KkrtItems.DigestBytes];
        KkrtItems.Digest(encodedRecord, digest);
        AddDigest(digest);
    }

    /// <summary>Digests a batch of canonically encoded records on all cores and keeps them, in order.</summary>
    public void AddRange(IReadOnlyList<byte[]> encodedRecords)
    {
        ArgumentNullException.ThrowIfNull(encodedRecords);
        var start = _digests.Count;
        CollectionsMarshal.SetCount(_digests, start + encodedRecords.Count);
        var parts = Math.Min(Environment.ProcessorCount * 4, Math.Max(1, encodedRecords.Count / 512));
        Parallel.For(0, parts, part =>
        {
            var digests = MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(_digests));
            for (var r = (int)((long)encodedRecords.Count * part / parts); r < (int)((long)encodedRecords.Count * (part + 1) / parts); r++)
                KkrtItems.Digest(encodedRecords[r], digests.Slice((start + r) * KkrtItems.DigestBytes, KkrtItems.DigestBytes));
        });
    }

    /// <summary>Keeps an already computed 16-byte digest.</summary>
    public void AddDigest(ReadOnlySpan<byte> digest)
    {
        if (digest.Length != KkrtItems.DigestBytes) throw new ArgumentException($"A kkrt digest is {KkrtItems.DigestBytes} bytes.", nameof(digest));
        _digests.Add(MemoryMarshal.Read<UInt128>(digest));
    }

    /// <summary>
    /// The distinct digests (16 bytes each, in ascending order of their 128-bit value, which reveals nothing: they are hashes)
    /// and, for each record in the order added, the index of its digest among them. Empties the collection (at 2^24 records
    /// the digests are 256 MB; they are not kept twice).
    /// </summary>
    public (byte[] Distinct, int[] RecordToDistinct) Distinct()
    {
        var keys = _digests.ToArray();
        _digests.Clear();
        _digests.TrimExcess();
        var order = new int[keys.Length];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(keys, order);
        var toDistinct = new int[keys.Length];
        var distinct = 0;
        for (var k = 0; k < keys.Length; k++)
        {
            if (k > 0 && keys[k] != keys[k - 1]) distinct++;
            toDistinct[order[k]] = distinct;
        }

        var count = keys.Length == 0 ? 0 : distinct + 1;
        var bytes = new byte[(long)count * KkrtItems.DigestBytes];
        var written = 0;
        for (var k = 0; k < keys.Length; k++)
        {
            if (k > 0 && keys[k] == keys[k - 1]) continue;
            MemoryMarshal.Write(bytes.AsSpan(written * KkrtItems.DigestBytes), in keys[k]);
            written++;
        }

        return (bytes, toDistinct);
    }

    /// <summary>The pod's side: its distinct digests (16 bytes each, ascending), without the per-record map. Empties the collection.</summary>
    public byte[] DistinctOnly()
    {
        var keys = CollectionsMarshal.AsSpan(_digests);
        keys.Sort();
        var count = 0;
        for (var k = 0; k < keys.Length; k++)
            if (k == 0 || keys[k] != keys[count - 1]) keys[count++] = keys[k];
        var bytes = MemoryMarshal.AsBytes(keys[..count]).ToArray();
        _digests.Clear();
        _digests.TrimExcess();
        return bytes;
    }
}
