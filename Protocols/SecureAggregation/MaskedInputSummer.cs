namespace Smpc.Protocols.SecureAggregation;

/// <summary>
/// The whole masked sum z = Σ_{i∈U3} y_i mod q, for callers that hold whole vectors (tests, in-process harnesses): a thin
/// wrapper of <see cref="MaskedChunkSummer"/>, the chunk-wise summer the service runs. It holds no secret.
/// </summary>
/// <remarks>
/// Chunks may arrive in any order; every chunk of every survivor is accepted exactly once, through the same checks as the
/// service's (<see cref="MaskedChunkSummer.Add(int, ReadOnlySpan{ulong})"/>). It holds the whole sum, so the service does
/// not use it.
/// </remarks>
public sealed class MaskedInputSummer
{
    private readonly SessionParameters parameters;
    private readonly int[] survivors;
    private readonly MaskedChunkSummer?[] chunks;

    /// <summary>Creates a summer for survivors U3 over the whole vector.</summary>
    public MaskedInputSummer(SessionParameters parameters, IEnumerable<int> survivors)
    {
        this.parameters = parameters ?? throw new ArgumentNullException(nameof(parameters));
        ArgumentNullException.ThrowIfNull(survivors);
        this.survivors = [.. survivors];
        _ = MaskedChunkSummer.For(parameters, this.survivors, 0); // refuses unknown and repeated survivors up front
        chunks = new MaskedChunkSummer?[parameters.ChunkCount];
    }

    /// <summary>True once every chunk of every survivor has been added.</summary>
    public bool IsComplete => chunks.All(c => c is { IsComplete: true });

    /// <summary>Adds one chunk; refuses unknown parties, out-of-range or wrong-length chunks, non-canonical elements and duplicates.</summary>
    public void Accept(MaskedInputChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        SessionRules.CheckSession(parameters, chunk.SessionId, "masked input chunk");
        if (chunk.ChunkIndex < 0 || chunk.ChunkIndex >= chunks.Length)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"chunk {chunk.ChunkIndex} is outside the vector");
        }

        var summer = chunks[chunk.ChunkIndex] ??= MaskedChunkSummer.For(parameters, survivors, chunk.ChunkIndex);
        summer.Add(chunk.Party, chunk.Elements);
    }

    /// <summary>The masked sum z; refused until complete.</summary>
    public ulong[] GetSum()
    {
        var missing = chunks.Sum(c => c?.MissingParties ?? survivors.Length);
        if (missing > 0)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, $"{missing} chunks are still missing");
        }

        return [.. chunks.SelectMany(c => c!.GetSum())];
    }
}
