using System.Buffers.Binary;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>Parses the binary wire formats; every short read or bad length is a <see cref="ProtocolError.Malformed"/> error.</summary>
internal ref struct WireReader
{
    private readonly ReadOnlySpan<byte> data;
    private readonly string what;
    private int position;

    public WireReader(ReadOnlySpan<byte> data, string what)
    {
        this.data = data;
        this.what = what;
        position = 0;
    }

    public readonly int Remaining => data.Length - position;

    public byte Byte() => Take(1)[0];

    public uint UInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public int Int32()
    {
        var value = UInt32();
        return value > int.MaxValue ? throw Malformed("integer out of range") : (int)value;
    }

    public string String()
    {
        var length = BinaryPrimitives.ReadUInt16BigEndian(Take(2));
        try
        {
            return new System.Text.UTF8Encoding(false, true).GetString(Take(length));
        }
        catch (ArgumentException)
        {
            throw Malformed("invalid UTF-8");
        }
    }

    public ReadOnlySpan<byte> Bytes(int count) => Take(count);

    public byte[] LengthPrefixed()
    {
        var length = UInt32();
        return length > Remaining ? throw Malformed("length prefix beyond end of message") : Take((int)length).ToArray();
    }

    public int[] Parties()
    {
        var count = UInt32();
        if (count > Remaining / 4)
        {
            throw Malformed("party list longer than message");
        }

        var parties = new int[count];
        for (var i = 0; i < parties.Length; i++)
        {
            parties[i] = Int32();
        }

        return parties;
    }

    public readonly void ExpectEnd()
    {
        if (position != data.Length)
        {
            throw Malformed("trailing bytes");
        }
    }

    public void Header(byte type)
    {
        var version = Byte();
        var actual = Byte();
        if (version != WireFormat.Version || actual != type)
        {
            throw Malformed($"expected version {WireFormat.Version} type {type}, got version {version} type {actual}");
        }
    }

    public readonly MessageRejectedException Malformed(string reason) => new(ProtocolError.Malformed, $"malformed {what}: {reason}");

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > data.Length - position)
        {
            throw Malformed("message is truncated");
        }

        var slice = data.Slice(position, count);
        position += count;
        return slice;
    }
}
