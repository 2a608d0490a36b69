namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>Content equality for byte arrays (records, hash outputs, group elements).</summary>
/// <remarks>
/// The hash covers every byte: encoded records share a long common prefix, so a prefix hash would put them
/// all in one bucket and make <c>Distinct</c> and hash-set lookups quadratic. <see cref="HashCode"/> is seeded
/// per process, so peers cannot choose inputs that collide.
/// </remarks>
internal sealed class ByteArrayComparer : IEqualityComparer<byte[]>
{
    public static ByteArrayComparer Instance { get; } = new();

    public bool Equals(byte[]? x, byte[]? y) => x is not null && y is not null && x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var hash = default(HashCode);
        hash.AddBytes(obj);
        return hash.ToHashCode();
    }
}
