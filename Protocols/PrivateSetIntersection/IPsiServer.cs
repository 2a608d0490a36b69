namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>Which PSI protocol a session runs.</summary>
public enum PsiProtocol
{
    /// <summary>RSA blind signatures: the reference protocol.</summary>
    RsaBlind = 1,

    /// <summary>EC Diffie-Hellman on ristretto255: the fast protocol.</summary>
    Ecdh = 2,
}

/// <summary>
/// The pod's side of a PSI session in streamed form: encode the pod's set batch by batch, then answer the modeller's one
/// query batch by batch. The caller orders the encoded set (<see cref="PsiElements"/>: sorted, which also de-duplicates).
/// </summary>
public interface IPsiServer : IDisposable
{
    /// <summary>The protocol.</summary>
    PsiProtocol Protocol { get; }

    /// <summary>The session's mode.</summary>
    PsiMode Mode { get; }

    /// <summary>Size of one query element and of one reply element (32 for ECDH, k for RSA); encoded-set elements are always 32 bytes.</summary>
    int ElementBytes { get; }

    /// <summary>Step 2: the encoded elements (32 bytes each) of a batch of records, in order, as one flat array.</summary>
    byte[] EncodeServerBatch(IReadOnlyList<byte[]> records);

    /// <summary>Step 3: claims the session's one query of <paramref name="count"/> elements (refused when over the maximum or when already claimed).</summary>
    IPsiQueryResponder BeginQuery(long count);
}

/// <summary>Answers the batches of the one claimed query, in order.</summary>
public interface IPsiQueryResponder
{
    /// <summary>The replies to a flat batch of query elements, in the same order; refuses invalid elements.</summary>
    byte[] Respond(ReadOnlyMemory<byte> elements);
}
