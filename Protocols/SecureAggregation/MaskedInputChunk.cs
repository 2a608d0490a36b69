using System.Buffers.Binary;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>Step 3 message: one chunk of a party's masked vector y_i (elements [index·C, index·C + count)).</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Party">The submitting party.</param>
/// <param name="ChunkIndex">Chunk number; chunk k holds elements [k·C, min((k + 1)·C, L)).</param>
/// <param name="Elements">The masked field elements, each &lt; q.</param>
public sealed record MaskedInputChunk(string SessionId, int Party, int ChunkIndex, ulong[] Elements)
{
    /// <summary>Parses the binary form: 01 03 ‖ session ‖ BE32 party ‖ BE32 chunk ‖ BE32 count ‖ count × LE64 element.</summary>
    public static MaskedInputChunk Parse(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data, "masked input chunk");
        r.Header(WireFormat.MaskedInputChunkType);
        var session = r.String();
        var party = r.Int32();
        var chunk = r.Int32();
        var count = r.UInt32();
        if (count != r.Remaining / 8 || r.Remaining % 8 != 0)
        {
            throw r.Malformed("element count does not match payload length");
        }

        var raw = r.Bytes((int)count * 8);
        var elements = new ulong[count];
        for (var i = 0; i < elements.Length; i++)
        {
            elements[i] = BinaryPrimitives.ReadUInt64LittleEndian(raw.Slice(i * 8, 8));
        }

        r.ExpectEnd();
        return new MaskedInputChunk(session, party, chunk, elements);
    }

    /// <summary>Splits a masked vector into chunks of <paramref name="chunkElements"/> elements.</summary>
    public static IReadOnlyList<MaskedInputChunk> Split(string sessionId, int party, ReadOnlySpan<ulong> vector, int chunkElements)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkElements, 1);
        var chunks = new List<MaskedInputChunk>();
        for (int index = 0, offset = 0; offset < vector.Length; index++, offset += chunkElements)
        {
            chunks.Add(new MaskedInputChunk(sessionId, party, index, vector.Slice(offset, Math.Min(chunkElements, vector.Length - offset)).ToArray()));
        }

        return chunks;
    }

    /// <summary>The binary form.</summary>
    public byte[] ToBytes()
    {
        var header = new WireWriter().Byte(WireFormat.Version).Byte(WireFormat.MaskedInputChunkType).String(SessionId)
            .Int32(Party).Int32(ChunkIndex).UInt32((uint)Elements.Length).ToArray();
        var result = new byte[header.Length + (Elements.Length * 8)];
        header.CopyTo(result, 0);
        for (var i = 0; i < Elements.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(result.AsSpan(header.Length + (i * 8)), Elements[i]);
        }

        return result;
    }
}
