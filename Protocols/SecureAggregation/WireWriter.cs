using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>Builds the binary wire formats: big-endian integers, u16-length-prefixed UTF-8, raw bytes.</summary>
/// <remarks>
/// The buffer is a plain array that is zeroed whenever it grows, so building a secret plaintext leaves no
/// stale copies behind; call <see cref="Wipe"/> once the result has been taken.
/// </remarks>
internal sealed class WireWriter
{
    private byte[] buffer;
    private int length;

    public WireWriter(int capacity = 256) => buffer = new byte[Math.Max(capacity, 16)];

    public WireWriter Byte(byte value)
    {
        Reserve(1)[0] = value;
        return this;
    }

    public WireWriter UInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(Reserve(4), value);
        return this;
    }

    public WireWriter Int32(int value) => UInt32((uint)value);

    public WireWriter UInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(Reserve(8), value);
        return this;
    }

    /// <summary>A UTF-8 string with a big-endian 16-bit length prefix.</summary>
    public WireWriter String(string value)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(value);
        if (bytes.Length > ushort.MaxValue)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "identifier longer than 65535 bytes");
        }

        BinaryPrimitives.WriteUInt16BigEndian(Reserve(2), (ushort)bytes.Length);
        return Bytes(bytes);
    }

    public WireWriter Bytes(ReadOnlySpan<byte> value)
    {
        value.CopyTo(Reserve(value.Length));
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

    public byte[] ToArray() => buffer.AsSpan(0, length).ToArray();

    /// <summary>The bytes written so far, without copying (valid until the next write or <see cref="Wipe"/>).</summary>
    public ReadOnlySpan<byte> Written => buffer.AsSpan(0, length);

    /// <summary>Zeroes everything written so far (for secret plaintexts).</summary>
    public void Wipe()
    {
        CryptographicOperations.ZeroMemory(buffer);
        length = 0;
    }

    private Span<byte> Reserve(int count)
    {
        if (buffer.Length - length < count)
        {
            var grown = new byte[Math.Max(buffer.Length * 2, length + count)];
            buffer.AsSpan(0, length).CopyTo(grown);
            CryptographicOperations.ZeroMemory(buffer);
            buffer = grown;
        }

        var slice = buffer.AsSpan(length, count);
        length += count;
        return slice;
    }
}
