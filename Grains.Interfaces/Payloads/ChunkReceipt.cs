using Smpc.Grains.Interfaces.Tenancy;

namespace Smpc.Grains.Interfaces.Payloads;

/// <summary>
/// What a metered chunk did: the upload's progress afterwards and, when it carried a seal, the committed manifest; or the
/// daily quota it would have passed (<see cref="OverQuota"/>), in which case nothing was stored and nothing counted.
/// </summary>
[GenerateSerializer, Immutable, Alias("smpc.chunk-receipt")]
public sealed record ChunkReceipt(
    [property: Id(0)] PayloadUploadStatus Upload,
    [property: Id(1)] UsageKind? OverQuota = null,
    [property: Id(2)] PayloadManifest? Manifest = null);
