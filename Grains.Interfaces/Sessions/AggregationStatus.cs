namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>Progress of a secure-aggregation session: which parties did what, who dropped out, and why it failed if it did.</summary>
[GenerateSerializer, Immutable, Alias("smpc.aggregation-status")]
public sealed record AggregationStatus(
    [property: Id(0)] string ProtocolSessionId,
    [property: Id(1)] int Threshold,
    [property: Id(2)] AggregationSpec Spec,
    [property: Id(3)] DateTimeOffset? PhaseDeadline,
    [property: Id(4)] IReadOnlyList<int> KeyBundles,
    [property: Id(5)] IReadOnlyList<int> ShareSenders,
    [property: Id(6)] IReadOnlyList<int> MaskedInputs,
    [property: Id(7)] IReadOnlyList<int> UnmaskResponses,
    [property: Id(8)] IReadOnlyList<int> Dropped,
    [property: Id(9)] IReadOnlyList<int>? Included,
    [property: Id(10)] string? FailureReason,
    [property: Id(11)] IReadOnlyDictionary<int, string>? Declined = null);

/// <summary>What the modeller needs to unmask: every key bundle, the unmask request, the responses sealed to it, and the masked sum's payload.</summary>
[GenerateSerializer, Immutable, Alias("smpc.unmask-material")]
public sealed record UnmaskMaterial(
    [property: Id(0)] IReadOnlyList<byte[]> KeyBundles,
    [property: Id(1)] byte[] UnmaskRequest,
    [property: Id(2)] IReadOnlyList<byte[]> Responses,
    [property: Id(3)] string MaskedSumPayload);

/// <summary>Where a pod streams its masked vector: a payload key and an upload id.</summary>
[GenerateSerializer, Immutable, Alias("smpc.masked-upload")]
public sealed record MaskedUpload(
    [property: Id(0)] string PayloadKey,
    [property: Id(1)] Guid UploadId,
    [property: Id(2)] int ChunkBytes,
    [property: Id(3)] long TotalBytes);
