using System.Buffers.Binary;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>Builds the HKDF contexts that separate mask streams and pairwise seeds by session, round and parties.</summary>
public static class MaskContext
{
    /// <summary>Context kind byte for a party's self mask PRG(b_i).</summary>
    public const byte SelfMaskKind = 1;

    /// <summary>Context kind byte for a pairwise mask PRG(s_ij).</summary>
    public const byte PairMaskKind = 2;

    /// <summary>PRG context of party <paramref name="party"/>'s self mask: 0x01 ‖ session ‖ BE32(round) ‖ BE32(party) ‖ BE32(0).</summary>
    public static byte[] ForSelfMask(string sessionId, uint round, int party) => Build(SelfMaskKind, sessionId, round, (uint)party, 0);

    /// <summary>PRG context of the pair {a, b}: 0x02 ‖ session ‖ BE32(round) ‖ BE32(min) ‖ BE32(max).</summary>
    public static byte[] ForPairMask(string sessionId, uint round, int a, int b) =>
        Build(PairMaskKind, sessionId, round, (uint)Math.Min(a, b), (uint)Math.Max(a, b));

    /// <summary>Writes a UTF-8 string with a big-endian 16-bit length prefix.</summary>
    internal static void WriteString(List<byte> output, string value)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(value);
        if (bytes.Length > ushort.MaxValue)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "identifier longer than 65535 bytes");
        }

        output.Add((byte)(bytes.Length >> 8));
        output.Add((byte)bytes.Length);
        output.AddRange(bytes);
    }

    private static byte[] Build(byte kind, string sessionId, uint round, uint a, uint b)
    {
        var output = new List<byte>(64) { kind };
        WriteString(output, sessionId);
        Span<byte> tail = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(tail, round);
        BinaryPrimitives.WriteUInt32BigEndian(tail[4..], a);
        BinaryPrimitives.WriteUInt32BigEndian(tail[8..], b);
        output.AddRange(tail);
        return [.. output];
    }
}
