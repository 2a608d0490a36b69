namespace Smpc.Grains.Interfaces.Payloads;

/// <summary>What grain state keeps of a large payload: its chunks live in the chunk table, not in grain state.</summary>
[GenerateSerializer, Immutable, Alias("smpc.payload-manifest")]
public sealed record PayloadManifest(
    [property: Id(0)] string Key,
    [property: Id(1)] Guid UploadId,
    [property: Id(2)] long Length,
    [property: Id(3)] IReadOnlyList<int> ChunkLengths,
    [property: Id(4)] string Sha256,
    [property: Id(5)] DateTimeOffset CompletedAt);
