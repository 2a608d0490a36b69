namespace Smpc.Grains.Interfaces.Payloads;

/// <summary>Rules an upload must obey, set by the payload's owner: exact length, fixed chunking, and for field vectors every little-endian 8-byte element below the modulus.</summary>
[GenerateSerializer, Immutable, Alias("smpc.payload-constraints")]
public sealed record PayloadConstraints(
    [property: Id(0)] long ExactLength,
    [property: Id(1)] int ChunkBytes,
    [property: Id(2)] ulong? ElementModulus);
