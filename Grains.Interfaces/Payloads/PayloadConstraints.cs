namespace Smpc.Grains.Interfaces.Payloads;

/// <summary>
/// Rules an upload must obey, set by the payload's owner: exact length (or, when 0, at most <see cref="MaxLength"/>), fixed
/// chunking, and element checks: field vectors have every little-endian 8-byte element below the modulus; PSI payloads are
/// whole <see cref="ElementBytes"/>-byte elements, each a valid ristretto255 point or an RSA value in (1, n − 1).
/// </summary>
[GenerateSerializer, Immutable, Alias("smpc.payload-constraints")]
public sealed record PayloadConstraints(
    [property: Id(0)] long ExactLength,
    [property: Id(1)] int ChunkBytes,
    [property: Id(2)] ulong? ElementModulus,
    [property: Id(3)] int ElementBytes = 0,
    [property: Id(4)] PayloadElementCheck Check = PayloadElementCheck.None,
    [property: Id(5)] byte[]? RsaModulus = null,
    [property: Id(6)] long MaxLength = 0);

/// <summary>How each element of a PSI payload is checked on arrival.</summary>
public enum PayloadElementCheck
{
    /// <summary>Only the element size.</summary>
    None = 0,
    /// <summary>A canonical, non-identity ristretto255 encoding.</summary>
    Ristretto255 = 1,
    /// <summary>A k-byte big-endian value in (1, n − 1) for the RSA modulus n.</summary>
    RsaBelowModulus = 2,
}
