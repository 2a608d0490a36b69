using System.Buffers.Binary;

namespace Smpc.Protocols.Signatures;

/// <summary>
/// Writes the fields of a signed statement: text and byte strings with a BE32 length, BE32 counts, BE32/BE64 integers,
/// doubles as the BE64 of their IEEE 754 bits (−0 as +0), and presence bytes (0 absent, 1 present) before optional fields.
/// </summary>
internal sealed class StatementWriter
{
    private readonly MemoryStream buffer = new();

    public StatementWriter Text(string value)
    {
        ArgumentNullException.ThrowIfNull(value, "a statement field");
        return Blob(System.Text.Encoding.UTF8.GetBytes(value));
    }

    public StatementWriter Optional(string? value) => value is null ? Present(false) : Present(true).Text(value);

    public StatementWriter Present(bool present)
    {
        buffer.WriteByte(present ? (byte)1 : (byte)0);
        return this;
    }

    public StatementWriter Blob(ReadOnlySpan<byte> value) => Int32(value.Length).Raw(value);

    public StatementWriter Count(int count) => Int32(count);

    public StatementWriter Int32(int value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, value);
        return Raw(b);
    }

    public StatementWriter Int64(long value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(b, value);
        return Raw(b);
    }

    public StatementWriter Double(double value) => Int64(BitConverter.DoubleToInt64Bits(value == 0 ? 0.0 : value));

    public byte[] ToArray() => buffer.ToArray();

    private StatementWriter Raw(ReadOnlySpan<byte> value)
    {
        buffer.Write(value);
        return this;
    }
}
