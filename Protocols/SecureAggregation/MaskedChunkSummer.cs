using System.Runtime.InteropServices;
using Smpc.Protocols.Field;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>
/// The service's side of step 4 for one chunk: z[k] = Σ_{i∈U3} y_i[k] mod q over every survivor's chunk k. It holds no
/// secret, and only one chunk: the service sums a vector of any length chunk by chunk, writing each sum chunk before it
/// reads the next, so its memory does not grow with the vector.
/// </summary>
/// <remarks>
/// 1. After the collection deadline the service fixes U3, the parties whose upload is complete.
/// 2. For each chunk index k, every survivor's chunk k is added exactly once (unknown parties, repeats, wrong lengths and
///    elements ≥ q are refused).
/// 3. When every survivor's chunk k is in, z[k] is written out and the next chunk starts.
/// </remarks>
public sealed class MaskedChunkSummer
{
    private readonly PrimeField field;
    private readonly ulong[] sum;
    private readonly HashSet<int> missing;
    private readonly HashSet<int> added = [];

    /// <summary>A summer of one chunk of <paramref name="chunkLength"/> elements of Z_q over survivors U3.</summary>
    public MaskedChunkSummer(PrimeField field, IEnumerable<int> survivors, int chunkIndex, int chunkLength)
    {
        this.field = field ?? throw new ArgumentNullException(nameof(field));
        ArgumentNullException.ThrowIfNull(survivors);
        ArgumentOutOfRangeException.ThrowIfNegative(chunkIndex);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkLength, 1);
        missing = [];
        foreach (var s in survivors)
        {
            if (s < 1)
            {
                throw new MessageRejectedException(ProtocolError.UnknownParty, $"party {s} is out of range");
            }

            if (!missing.Add(s))
            {
                throw new MessageRejectedException(ProtocolError.Duplicate, $"survivor {s} listed twice");
            }
        }

        if (missing.Count == 0)
        {
            throw new ProtocolException(ProtocolError.InsufficientParties, "a sum needs at least one survivor");
        }

        ChunkIndex = chunkIndex;
        sum = new ulong[chunkLength];
    }

    /// <summary>A summer of chunk <paramref name="chunkIndex"/> of the session's vector over survivors U3.</summary>
    public static MaskedChunkSummer For(SessionParameters parameters, IEnumerable<int> survivors, int chunkIndex)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(survivors);
        if (chunkIndex < 0 || chunkIndex >= parameters.ChunkCount)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"chunk {chunkIndex} is outside the vector's {parameters.ChunkCount} chunks");
        }

        var list = survivors.ToList();
        foreach (var s in list)
        {
            SessionRules.CheckParty(parameters, s);
        }

        return new MaskedChunkSummer(parameters.Field, list, chunkIndex, parameters.ChunkLength(chunkIndex));
    }

    /// <summary>The chunk index k this summer adds.</summary>
    public int ChunkIndex { get; }

    /// <summary>Elements in the chunk.</summary>
    public int Length => sum.Length;

    /// <summary>True once every survivor's chunk has been added.</summary>
    public bool IsComplete => missing.Count == 0;

    /// <summary>Survivors whose chunk is still missing.</summary>
    public int MissingParties => missing.Count;

    /// <summary>Adds party <paramref name="party"/>'s chunk; refuses non-survivors, repeats, wrong lengths and non-canonical elements.</summary>
    public void Add(int party, ReadOnlySpan<ulong> elements)
    {
        if (added.Contains(party))
        {
            throw new MessageRejectedException(ProtocolError.Duplicate, $"chunk {ChunkIndex} of party {party} was already added");
        }

        if (!missing.Contains(party))
        {
            throw new MessageRejectedException(ProtocolError.UnknownParty, $"party {party} is not a survivor");
        }

        if (elements.Length != sum.Length)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"chunk {ChunkIndex} has {elements.Length} elements, expected {sum.Length}");
        }

        if (!field.AreCanonical(elements))
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"chunk {ChunkIndex} of party {party} holds an element ≥ q");
        }

        field.AddInPlace(sum, elements);
        missing.Remove(party);
        added.Add(party);
    }

    /// <summary>Adds a chunk in its wire form (little-endian 8-byte elements, as stored).</summary>
    public void Add(int party, ReadOnlySpan<byte> littleEndianElements)
    {
        if (littleEndianElements.Length % sizeof(ulong) != 0)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"chunk {ChunkIndex} of party {party} is not whole 8-byte elements");
        }

        if (BitConverter.IsLittleEndian)
        {
            Add(party, MemoryMarshal.Cast<byte, ulong>(littleEndianElements));
            return;
        }

        var elements = new ulong[littleEndianElements.Length / sizeof(ulong)];
        for (var i = 0; i < elements.Length; i++)
        {
            elements[i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(littleEndianElements.Slice(i * sizeof(ulong), sizeof(ulong)));
        }

        Add(party, elements);
    }

    /// <summary>z[k]; refused until every survivor's chunk is in.</summary>
    public ulong[] GetSum() => IsComplete
        ? (ulong[])sum.Clone()
        : throw new MessageRejectedException(ProtocolError.OutOfOrder, $"chunk {ChunkIndex} still misses {missing.Count} survivors");

    /// <summary>z[k] in its wire form (little-endian 8-byte elements); refused until complete.</summary>
    public byte[] ToBytes()
    {
        var elements = IsComplete ? sum : GetSum();
        if (BitConverter.IsLittleEndian)
        {
            return MemoryMarshal.AsBytes(elements.AsSpan()).ToArray();
        }

        var bytes = new byte[elements.Length * sizeof(ulong)];
        for (var i = 0; i < elements.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * sizeof(ulong)), elements[i]);
        }

        return bytes;
    }

}
