using System.Security.Cryptography;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.Field;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>Everything all parties of one secure-aggregation session agree on before it starts.</summary>
public sealed class SessionParameters
{
    /// <summary>Default chunk size of masked uploads: 131072 elements (1 MiB).</summary>
    public const int DefaultChunkElements = 1 << 17;

    private static readonly byte[] Label = "smpc/secagg/params/v1"u8.ToArray();
    private readonly byte[] digest;

    private SessionParameters(string sessionId, uint round, int partyCount, int threshold, PrimeField field, VectorLayout layout, byte[] modellerKey, int chunkElements)
    {
        SessionId = sessionId;
        Round = round;
        PartyCount = partyCount;
        Threshold = threshold;
        Field = field;
        Layout = layout;
        ModellerPublicKey = modellerKey;
        ChunkElements = chunkElements;
        Codec = new FixedPointCodec(field, layout, partyCount);
        digest = SHA256.HashData(ToCanonicalBytes());
    }

    /// <summary>Session identifier (bound into every signature, envelope and PRG context).</summary>
    public string SessionId { get; }

    /// <summary>Aggregation round within the session (training rounds); bound into contexts.</summary>
    public uint Round { get; }

    /// <summary>n: parties are numbered 1..n.</summary>
    public int PartyCount { get; }

    /// <summary>t: shares needed to reconstruct; also the minimum number of survivors.</summary>
    public int Threshold { get; }

    /// <summary>The field Z_q.</summary>
    public PrimeField Field { get; }

    /// <summary>The vector layout every party submits.</summary>
    public VectorLayout Layout { get; }

    /// <summary>The modeller's X25519 session key; unmasking responses are sealed to it.</summary>
    public byte[] ModellerPublicKey { get; }

    /// <summary>Elements per masked-input chunk.</summary>
    public int ChunkElements { get; }

    /// <summary>The codec (bounds validated for n parties).</summary>
    public FixedPointCodec Codec { get; }

    /// <summary>Number of chunks a masked vector is cut into.</summary>
    public int ChunkCount => (Layout.Length + ChunkElements - 1) / ChunkElements;

    /// <summary>The default threshold ⌈2n/3⌉.</summary>
    public static int DefaultThreshold(int partyCount) => ((2 * partyCount) + 2) / 3;

    /// <summary>Validates and creates parameters; n ∈ [3, 255], n/2 &lt; t ≤ n (default ⌈2n/3⌉).</summary>
    public static SessionParameters Create(
        string sessionId,
        int partyCount,
        VectorLayout layout,
        byte[] modellerPublicKey,
        int? threshold = null,
        PrimeField? field = null,
        uint round = 0,
        int chunkElements = DefaultChunkElements)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(modellerPublicKey);
        if (string.IsNullOrEmpty(sessionId) || System.Text.Encoding.UTF8.GetByteCount(sessionId) > 1024)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "session id must be 1..1024 UTF-8 bytes");
        }

        if (partyCount < 3 || partyCount > 255)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, $"secure aggregation needs 3..255 parties, got {partyCount}");
        }

        var t = threshold ?? DefaultThreshold(partyCount);
        if (2 * t <= partyCount || t > partyCount)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, $"threshold {t} must be more than n/2 = {partyCount / 2.0} and at most n = {partyCount}");
        }

        if (modellerPublicKey.Length != 32)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "the modeller key is a 32-byte X25519 public key");
        }

        if (chunkElements < 1)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "chunk size must be positive");
        }

        return new SessionParameters(sessionId, round, partyCount, t, field ?? PrimeField.Default, layout, (byte[])modellerPublicKey.Clone(), chunkElements);
    }

    /// <summary>
    /// SHA-256 of <see cref="ToCanonicalBytes"/>; every key bundle signature covers it, so parties that were
    /// handed different parameters (n, t, q, layout, chunk size, modeller key, …) refuse each other's bundles.
    /// </summary>
    public byte[] Digest() => (byte[])digest.Clone();

    /// <summary>
    /// The canonical encoding (docs/protocols/secure-aggregation.md, "Session parameters"):
    /// "smpc/secagg/params/v1" ‖ str(session) ‖ BE32 round ‖ BE32 n ‖ BE32 t ‖ BE64 q ‖ BE32 C ‖ BE32 field count ‖
    /// per field (str(name) ‖ BE32 length ‖ BE64 precision ‖ BE64 bits(min) ‖ BE64 bits(max)) ‖ modeller key (32).
    /// </summary>
    public byte[] ToCanonicalBytes()
    {
        var w = new WireWriter(128 + (Layout.Fields.Count * 48)).Bytes(Label).String(SessionId).UInt32(Round)
            .Int32(PartyCount).Int32(Threshold).UInt64(Field.Modulus).Int32(ChunkElements).Int32(Layout.Fields.Count);
        foreach (var f in Layout.Fields)
        {
            w.String(f.Name).Int32(f.Length).UInt64((ulong)f.Precision).UInt64(CanonicalBits(f.Min)).UInt64(CanonicalBits(f.Max));
        }

        return w.Bytes(ModellerPublicKey).ToArray();
    }

    /// <summary>Length of chunk <paramref name="chunkIndex"/>.</summary>
    public int ChunkLength(int chunkIndex) => Math.Min(ChunkElements, Layout.Length - (chunkIndex * ChunkElements));

    // IEEE 754 binary64 bits; −0 is written as +0 so that equal bounds always encode equally.
    private static ulong CanonicalBits(double value) => (ulong)BitConverter.DoubleToInt64Bits(value == 0 ? 0.0 : value);
}
