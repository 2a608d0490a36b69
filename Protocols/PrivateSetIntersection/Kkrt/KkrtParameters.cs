namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>The kkrt PSI protocol version both parties name on the wire.</summary>
public static class KkrtPsiVersion
{
    /// <summary>kkrt-v1: KKRT16 batched OPRF (512-bit pseudorandom code, Masny–Rindal base OTs on ristretto255), docs/protocols/psi.md.</summary>
    public const string Current = "kkrt-v1";

    /// <summary>Refuses any version but <see cref="Current"/>, naming both.</summary>
    public static void Require(string? version, string who)
    {
        if (version != Current)
            throw new ProtocolException(ProtocolError.UnsupportedVersion, $"{who} speaks kkrt PSI version '{version ?? "(none)"}', this party only '{Current}'");
    }
}

/// <summary>
/// The sizes of a kkrt session, all fixed by the modeller's declared (distinct) set size n (docs/protocols/psi.md, "kkrt"):
/// m = ⌈1.5·n⌉ + 256 cuckoo bins, 512 base OTs and a 512-bit code, tags of ℓ = ⌈(40 + 26 + ⌈log2 m⌉) / 8⌉ bytes.
/// </summary>
public static class KkrtParameters
{
    /// <summary>Width of the pseudorandom code and number of base OTs (bits).</summary>
    public const int CodeBits = 512;

    /// <summary>Bytes of one OT-extension row (one bin).</summary>
    public const int RowBytes = CodeBits / 8;

    /// <summary>Number of base OTs.</summary>
    public const int BaseOts = CodeBits;

    /// <summary>Cuckoo hash functions.</summary>
    public const int HashFunctions = 3;

    /// <summary>Statistical security parameter (bits).</summary>
    public const int StatisticalSecurity = 40;

    /// <summary>log2 of the largest pod set the service accepts (50,000,000 &lt; 2^26), used in the tag length.</summary>
    public const int MaxPodSetLog2 = 26;

    /// <summary>The pod's setup message: code key (16) then 512 pairs of ristretto255 elements.</summary>
    public const int SetupBytes = 16 + BaseOts * 64;

    /// <summary>The head of the modeller's query: cuckoo hash key (16) then 512 ristretto255 elements.</summary>
    public const int QueryHeaderBytes = 16 + BaseOts * 32;

    /// <summary>Cuckoo bins for a modeller set of <paramref name="modellerSetSize"/> distinct records: ⌈1.5·n⌉ + 256.</summary>
    public static long Bins(long modellerSetSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(modellerSetSize);
        return (3 * modellerSetSize + 1) / 2 + 256;
    }

    /// <summary>Tag length ℓ in bytes: ⌈(40 + 26 + ⌈log2 m⌉) / 8⌉.</summary>
    public static int TagBytes(long modellerSetSize)
    {
        var bins = Bins(modellerSetSize);
        var log2 = 64 - long.LeadingZeroCount(bins - 1); // ⌈log2 m⌉ for m ≥ 2
        return (StatisticalSecurity + MaxPodSetLog2 + (int)log2 + 7) / 8;
    }

    /// <summary>Exact length of the modeller's query: header then one 64-byte row per bin.</summary>
    public static long QueryBytes(long modellerSetSize) => QueryHeaderBytes + Bins(modellerSetSize) * RowBytes;

    /// <summary>Length of the pod's reply for <paramref name="podSetSize"/> distinct records: three lists of ℓ-byte tags.</summary>
    public static long ReplyBytes(long modellerSetSize, long podSetSize) => HashFunctions * podSetSize * TagBytes(modellerSetSize);
}
