namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// ECDH cardinality, counted by the pod: holds the pod's answers k·A_i to the (guarded) query and counts how many of them
/// occur in the modeller's double-blinded set a·(k·H(y)). The double-blinded set must be exactly as large as the pod's
/// published set, strictly ascending (so without duplicates) and made of canonical non-identity ristretto255 elements;
/// anything else is refused before a count exists. Each element of it can match at most one answer.
/// </summary>
public sealed class PodCardinalityCounter
{
    private readonly HashSet<PsiTag> answers = [];
    private byte[] previous = [];
    private bool finished;

    /// <summary>Elements of the double-blinded set seen so far.</summary>
    public long Seen { get; private set; }

    /// <summary>Matches so far.</summary>
    public long Count { get; private set; }

    /// <summary>Adds the pod's answers k·A_i to a batch of query elements (distinct query elements give distinct answers).</summary>
    public void AddAnswers(ReadOnlySpan<byte> flat)
    {
        PsiElements.CheckFlat(flat.Length, PsiTag.Size);
        for (var offset = 0; offset < flat.Length; offset += PsiTag.Size)
        {
            if (!answers.Add(PsiTag.Read(flat.Slice(offset, PsiTag.Size))))
            {
                throw new MessageRejectedException(ProtocolError.Duplicate, "two query elements gave the same answer (the query repeats an element)");
            }
        }
    }

    /// <summary>Consumes the next chunk of the double-blinded set, refusing disorder, repeats and invalid elements.</summary>
    public void Feed(ReadOnlySpan<byte> chunk)
    {
        if (finished)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, "the count is already taken");
        }

        PsiElements.CheckFlat(chunk.Length, PsiTag.Size);
        if (!PsiElements.IsStrictlyAscending(chunk, PsiTag.Size, previous))
        {
            throw new MessageRejectedException(ProtocolError.Duplicate, "the double-blinded set is not strictly ascending (it repeats or reorders elements)");
        }

        for (var offset = 0; offset < chunk.Length; offset += PsiTag.Size)
        {
            var element = chunk.Slice(offset, PsiTag.Size);
            if (!Ristretto255.IsValid(element))
            {
                throw new CryptographicCheckException(ProtocolError.InvalidElement, $"double-blinded element {Seen} is not a canonical non-identity ristretto255 element");
            }

            Seen++;
            if (answers.Contains(PsiTag.Read(element)))
            {
                Count++;
            }
        }

        if (chunk.Length > 0)
        {
            previous = chunk[^PsiTag.Size..].ToArray();
        }
    }

    /// <summary>The count, once the whole double-blinded set (exactly <paramref name="podSetSize"/> elements) has been fed.</summary>
    public long Finish(long podSetSize)
    {
        if (Seen != podSetSize)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"the double-blinded set has {Seen} elements, the pod published {podSetSize}");
        }

        finished = true;
        answers.Clear();
        return Count;
    }
}
