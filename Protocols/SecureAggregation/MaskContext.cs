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

    private static byte[] Build(byte kind, string sessionId, uint round, uint a, uint b) =>
        new WireWriter(64).Byte(kind).String(sessionId).UInt32(round).UInt32(a).UInt32(b).ToArray();
}
