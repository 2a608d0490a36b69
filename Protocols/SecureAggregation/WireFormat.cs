namespace Smpc.Protocols.SecureAggregation;

/// <summary>Version and type bytes that open every binary secure-aggregation message.</summary>
public static class WireFormat
{
    /// <summary>Format version of all messages in this library.</summary>
    public const byte Version = 1;

    /// <summary>Type byte of <see cref="KeyBundle"/>.</summary>
    public const byte KeyBundleType = 1;

    /// <summary>Type byte of <see cref="ShareEnvelope"/>.</summary>
    public const byte ShareEnvelopeType = 2;

    /// <summary>Type byte of <see cref="MaskedInputChunk"/>.</summary>
    public const byte MaskedInputChunkType = 3;

    /// <summary>Type byte of <see cref="UnmaskRequest"/>.</summary>
    public const byte UnmaskRequestType = 4;

    /// <summary>Type byte of <see cref="UnmaskResponse"/>.</summary>
    public const byte UnmaskResponseType = 5;
}
