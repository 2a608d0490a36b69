namespace Smpc.Grains.Interfaces.Payloads;

/// <summary>Seals an upload with the chunk that carries it: the whole payload's length and SHA-256 (lower-case hex), as its one sender computed them.</summary>
[GenerateSerializer, Immutable, Alias("smpc.upload-seal")]
public sealed record UploadSeal([property: Id(0)] long Length, [property: Id(1)] string Sha256);
