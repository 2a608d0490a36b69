using System.Buffers.Binary;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>Builds the binary wire formats: big-endian integers, u16-length-prefixed UTF-8, raw bytes.</summary>
internal sealed class WireWriter
{
    private readonly List<byte> buffer = new(256);

    public WireWriter Byte(byte value)
    {
        buffer.Add(value);
        return this;
    }

    public WireWriter UInt32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        buffer.AddRange(b);
        return this;
    }

    public WireWriter Int32(int value) => UInt32((uint)value);

    public WireWriter String(string value)
    {
        MaskContext.WriteString(buffer, value);
        return this;
    }

    public WireWriter Bytes(ReadOnlySpan<byte> value)
    {
        buffer.AddRange(value);
        return this;
    }

    public WireWriter LengthPrefixed(ReadOnlySpan<byte> value)
    {
        UInt32((uint)value.Length);
        return Bytes(value);
    }

    public WireWriter Parties(IReadOnlyCollection<int> parties)
    {
        UInt32((uint)parties.Count);
        foreach (var p in parties)
        {
            Int32(p);
        }

        return this;
    }

    public byte[] ToArray() => [.. buffer];
}
