using System.Security.Cryptography;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// The pod's own check of the modeller's query, whatever the service let through: at most the declared number of
/// elements, no element twice (equal encodings; ristretto255 and RSA values have one encoding each), and exactly the
/// declared number by <see cref="Complete"/>. Wraps the responder of either protocol; nothing is answered past a refusal.
/// </summary>
public sealed class PsiQueryGuard : IPsiQueryResponder
{
    private readonly IPsiQueryResponder inner;
    private readonly int elementBytes;
    // 128 bits of SHA-256 per element: equal elements always collide, so no duplicate is missed; a false alarm between
    // different elements needs a 128-bit collision and only refuses the query.
    private readonly HashSet<UInt128> seen = [];

    /// <summary>Guards <paramref name="inner"/> for a query the session declared as <paramref name="declared"/> elements.</summary>
    public PsiQueryGuard(IPsiQueryResponder inner, long declared, int elementBytes)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(declared);
        this.inner = inner;
        Declared = declared;
        this.elementBytes = elementBytes;
    }

    /// <summary>The element count the session declared (ModellerSetSize).</summary>
    public long Declared { get; }

    /// <summary>Elements answered so far.</summary>
    public long Answered { get; private set; }

    /// <inheritdoc />
    public byte[] Respond(ReadOnlyMemory<byte> elements)
    {
        PsiElements.CheckFlat(elements.Length, elementBytes);
        var count = elements.Length / elementBytes;
        if (Answered + count > Declared)
        {
            throw new ProtocolException(ProtocolError.PolicyRefused, $"the query has more than the {Declared} elements the session declared; nothing more is answered");
        }

        Span<byte> digest = stackalloc byte[32];
        for (var i = 0; i < count; i++)
        {
            SHA256.HashData(elements.Span.Slice(i * elementBytes, elementBytes), digest);
            if (!seen.Add(System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(digest)))
            {
                throw new MessageRejectedException(ProtocolError.Duplicate, $"query element {Answered + i} repeats an earlier element; a query with duplicates is refused");
            }
        }

        var replies = inner.Respond(elements);
        Answered += count;
        return replies;
    }

    /// <summary>Refuses a query that ended short of its declared size (the caller must not release anything computed from it).</summary>
    public void Complete()
    {
        if (Answered != Declared)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"the query had {Answered} elements but the session declared {Declared}");
        }
    }
}
