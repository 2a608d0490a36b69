namespace Smpc.Protocols.SecureAggregation;

/// <summary>
/// The service's side: adds the survivors' masked vectors mod q, chunk by chunk. It holds no secret at all.
/// </summary>
/// <remarks>
/// 1. After the collection deadline the service fixes U3, the parties whose upload is complete.
/// 2. Every chunk of every survivor is accepted exactly once: z[k] = Σ_{i∈U3} y_i[k] mod q.
/// 3. When all chunks of all survivors are in, z is the masked sum handed to the modeller.
/// A summer may own only a range of chunks, so several silos can each sum a part of the vector.
/// </remarks>
public sealed class MaskedInputSummer
{
    private readonly SessionParameters parameters;
    private readonly HashSet<int> survivors;
    private readonly int firstChunk;
    private readonly int chunkCount;
    private readonly ulong[] sum;
    private readonly Dictionary<int, bool[]> received = [];
    private int remaining;

    /// <summary>Creates a summer for survivors U3 over chunks [firstChunk, firstChunk + chunkCount) (default: all).</summary>
    public MaskedInputSummer(SessionParameters parameters, IEnumerable<int> survivors, int firstChunk = 0, int? chunkCount = null)
    {
        this.parameters = parameters ?? throw new ArgumentNullException(nameof(parameters));
        ArgumentNullException.ThrowIfNull(survivors);
        this.survivors = [];
        foreach (var s in survivors)
        {
            SessionRules.CheckParty(parameters, s);
            if (!this.survivors.Add(s))
            {
                throw new MessageRejectedException(ProtocolError.Duplicate, $"survivor {s} listed twice");
            }
        }

        this.firstChunk = firstChunk;
        this.chunkCount = chunkCount ?? (parameters.ChunkCount - firstChunk);
        if (firstChunk < 0 || this.chunkCount < 1 || firstChunk + this.chunkCount > parameters.ChunkCount)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "chunk range outside the vector");
        }

        var start = (long)firstChunk * parameters.ChunkElements;
        var end = Math.Min((long)(firstChunk + this.chunkCount) * parameters.ChunkElements, parameters.Layout.Length);
        sum = new ulong[end - start];
        foreach (var s in this.survivors)
        {
            received[s] = new bool[this.chunkCount];
        }

        remaining = this.survivors.Count * this.chunkCount;
    }

    /// <summary>True once every chunk of every survivor has been added.</summary>
    public bool IsComplete => remaining == 0;

    /// <summary>Number of chunks still missing.</summary>
    public int MissingChunks => remaining;

    /// <summary>Adds one chunk; refuses unknown parties, out-of-range or wrong-length chunks, non-canonical elements and duplicates.</summary>
    public void Accept(MaskedInputChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        SessionRules.CheckSession(parameters, chunk.SessionId, "masked input chunk");
        if (!received.TryGetValue(chunk.Party, out var flags))
        {
            throw new MessageRejectedException(ProtocolError.UnknownParty, $"party {chunk.Party} is not a survivor");
        }

        var local = chunk.ChunkIndex - firstChunk;
        if (local < 0 || local >= chunkCount)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"chunk {chunk.ChunkIndex} is outside this summer's range");
        }

        if (chunk.Elements.Length != parameters.ChunkLength(chunk.ChunkIndex))
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"chunk {chunk.ChunkIndex} has {chunk.Elements.Length} elements, expected {parameters.ChunkLength(chunk.ChunkIndex)}");
        }

        if (!parameters.Field.AreCanonical(chunk.Elements))
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"chunk {chunk.ChunkIndex} of party {chunk.Party} holds an element ≥ q");
        }

        if (flags[local])
        {
            throw new MessageRejectedException(ProtocolError.Duplicate, $"chunk {chunk.ChunkIndex} of party {chunk.Party} was already added");
        }

        parameters.Field.AddInPlace(sum.AsSpan(local * parameters.ChunkElements, chunk.Elements.Length), chunk.Elements);
        flags[local] = true;
        remaining--;
    }

    /// <summary>The masked sum of this summer's chunk range; refused until complete.</summary>
    public ulong[] GetSum() =>
        IsComplete ? (ulong[])sum.Clone() : throw new MessageRejectedException(ProtocolError.OutOfOrder, $"{remaining} chunks are still missing");
}
