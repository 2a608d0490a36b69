namespace Smpc.Grains.Interfaces.Payloads;

/// <summary>How far an upload got: the chunks and bytes the service holds durably, and whether it was committed.</summary>
[GenerateSerializer, Immutable, Alias("smpc.payload-upload-status")]
public sealed record PayloadUploadStatus(
    [property: Id(0)] Guid UploadId,
    [property: Id(1)] int ChunksStored,
    [property: Id(2)] long BytesStored,
    [property: Id(3)] bool Completed);
