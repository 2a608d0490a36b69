using System.Security.Cryptography;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// The modeller (client) in ECDH PSI, version <see cref="EcdhPsiVersion.Current"/>.
/// </summary>
/// <remarks>
/// Intersection mode is the RFC 9497 OPRF (<see cref="RistrettoOprf"/>): a fresh blind r_i per record,
/// <see cref="BlindBatch"/> sends r_i·H(x_i), the pod returns k·r_i·H(x_i), and <see cref="FinalizeBatch"/> computes
/// Finalize(x_i) (first 32 bytes), compared with the pod's published Evaluate(k, y) tags.
/// Cardinality mode is counted by the pod: one secret a for the whole session, <see cref="BlindBatch"/> sends a·H(x_i) and
/// <see cref="RaiseBatch"/> turns the pod's b·H(y) into a·b·H(y); the pod counts and seals the count to this client.
/// Every element received is validated; invalid encodings and the identity are refused.
/// </remarks>
public sealed class EcdhPsiClient : IDisposable
{
    private readonly IRandomSource random;
    private readonly byte[]? secret;
    private readonly List<byte[]?> inverses = [];
    private int blindedCount;

    /// <summary>Creates the client; cardinality mode draws its one secret scalar now.</summary>
    public EcdhPsiClient(PsiMode mode, IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(random);
        Mode = mode;
        this.random = random;
        secret = mode == PsiMode.Cardinality ? Ristretto255.RandomScalar(random) : null;
    }

    /// <summary>The session's mode.</summary>
    public PsiMode Mode { get; }

    /// <summary>Records blinded so far.</summary>
    public int BlindedCount => blindedCount;

    /// <summary>All records at once: the blinded elements in record order (see <see cref="BlindBatch"/>).</summary>
    public byte[][] Blind(IReadOnlyList<byte[]> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (blindedCount > 0)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, "records were already blinded for this session");
        }

        return Split(BlindBatch(records));
    }

    /// <summary>
    /// The next batch of records blinded, in order, as one flat array of 32-byte elements: r_i·H(x_i) with a fresh r_i per
    /// record (intersection, RFC 9497 Blind), or a·H(x_i) (cardinality).
    /// </summary>
    public byte[] BlindBatch(IReadOnlyList<byte[]> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var output = new byte[records.Count * Ristretto255.Size];
        var blinds = Mode == PsiMode.Intersection ? DrawScalars(records.Count) : null;
        var batchInverses = new byte[records.Count][];
        Parallel.For(0, records.Count, i =>
        {
            var element = output.AsSpan(i * Ristretto255.Size, Ristretto255.Size);
            if (blinds is null)
            {
                RistrettoOprf.Blind(records[i], secret, element);
                return;
            }

            RistrettoOprf.Blind(records[i], blinds[i], element);
            batchInverses[i] = Ristretto255.InvertScalar(blinds[i]);
            CryptographicOperations.ZeroMemory(blinds[i]);
        });
        if (blinds is not null)
        {
            inverses.AddRange(batchInverses);
        }

        blindedCount += records.Count;
        return output;
    }

    /// <summary>
    /// Intersection: Finalize for the replies to records <paramref name="first"/>… (in query order), each cut to its first
    /// 32 bytes, as a flat array comparable with the pod's published tags. The blinds used are wiped.
    /// </summary>
    public byte[] FinalizeBatch(int first, IReadOnlyList<byte[]> records, ReadOnlyMemory<byte> replies)
    {
        ArgumentNullException.ThrowIfNull(records);
        RequireMode(PsiMode.Intersection, "Finalize");
        PsiElements.CheckFlat(replies.Length, Ristretto255.Size);
        var count = replies.Length / Ristretto255.Size;
        if (first < 0 || first + count > blindedCount || first + count > records.Count)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"replies {first}…{first + count} exceed the {blindedCount} blinded records");
        }

        var output = new byte[count * EcdhPsiVersion.TagBytes];
        var bad = -1;
        Parallel.For(0, count, () => new byte[RistrettoOprf.OutputBytes], (i, _, full) =>
        {
            var inverse = inverses[first + i] ?? throw new MessageRejectedException(ProtocolError.Duplicate, $"reply {first + i} was already finalized");
            try
            {
                RistrettoOprf.FinalizeWithInverse(records[first + i], inverse, replies.Span.Slice(i * Ristretto255.Size, Ristretto255.Size), full);
                full.AsSpan(0, EcdhPsiVersion.TagBytes).CopyTo(output.AsSpan(i * EcdhPsiVersion.TagBytes));
            }
            catch (CryptographicCheckException)
            {
                bad = first + i;
            }

            return full;
        }, full => CryptographicOperations.ZeroMemory(full));
        if (bad >= 0)
        {
            throw new CryptographicCheckException(ProtocolError.InvalidElement, $"reply {bad} is not a valid ristretto255 element");
        }

        for (var i = first; i < first + count; i++)
        {
            CryptographicOperations.ZeroMemory(inverses[i]);
            inverses[i] = null;
        }

        return output;
    }

    /// <summary>Intersection, all at once: the indices of the records whose OPRF tag is in the pod's tag set.</summary>
    public PsiResult Finish(IReadOnlyList<byte[]> records, IReadOnlyList<byte[]> replies, IReadOnlyList<byte[]> podTags)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(replies);
        ArgumentNullException.ThrowIfNull(podTags);
        if (replies.Count != blindedCount)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"{replies.Count} replies for {blindedCount} blinded elements");
        }

        var tags = FinalizeBatch(0, records, replies.SelectMany(r => r.Length == Ristretto255.Size ? r : throw new MessageRejectedException(ProtocolError.Malformed, "replies are 32 bytes")).ToArray());
        var set = new HashSet<byte[]>(podTags, ByteArrayComparer.Instance);
        var indices = Enumerable.Range(0, replies.Count).Where(i => set.Contains(tags.AsSpan(i * EcdhPsiVersion.TagBytes, EcdhPsiVersion.TagBytes).ToArray())).ToArray();
        return new PsiResult(indices.Length, indices);
    }

    /// <summary>Cardinality (pod-counted): a·e for a batch of the pod's elements e = b·H(y), giving a·b·H(y); refuses invalid elements.</summary>
    public byte[] RaiseBatch(ReadOnlyMemory<byte> elements)
    {
        RequireMode(PsiMode.Cardinality, "RaiseBatch");
        PsiElements.CheckFlat(elements.Length, Ristretto255.Size);
        var output = new byte[elements.Length];
        var bad = -1;
        Parallel.For(0, elements.Length / Ristretto255.Size, i =>
        {
            var element = elements.Span.Slice(i * Ristretto255.Size, Ristretto255.Size);
            if (!Ristretto255.IsValid(element) || !Ristretto255.TryMultiply(secret, element, output.AsSpan(i * Ristretto255.Size, Ristretto255.Size)))
            {
                bad = i;
            }
        });

        return bad >= 0
            ? throw new CryptographicCheckException(ProtocolError.InvalidElement, $"pod element {bad} of this batch is not a valid ristretto255 element")
            : output;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (secret is not null)
        {
            CryptographicOperations.ZeroMemory(secret);
        }

        foreach (var inverse in inverses)
        {
            if (inverse is not null)
            {
                CryptographicOperations.ZeroMemory(inverse);
            }
        }
    }

    private byte[][] DrawScalars(int count)
    {
        // The random source is drawn from sequentially (it need not be thread-safe); the reductions run in parallel.
        var wide = new byte[count * 64];
        random.Fill(wide);
        var scalars = new byte[count][];
        Parallel.For(0, count, i =>
        {
            var scalar = Ristretto255.ReduceWide(wide.AsSpan(i * 64, 64));
            while (scalar.AsSpan().IndexOfAnyExcept((byte)0) < 0)
            {
                scalar = Ristretto255.RandomScalar(SystemRandomSource.Instance); // probability 2^-252
            }

            scalars[i] = scalar;
        });
        CryptographicOperations.ZeroMemory(wide);
        return scalars;
    }

    private void RequireMode(PsiMode mode, string step)
    {
        if (Mode != mode)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, $"{step} belongs to {mode} mode; this session is {Mode}");
        }
    }

    private static byte[][] Split(byte[] flat)
    {
        var result = new byte[flat.Length / Ristretto255.Size][];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = flat.AsSpan(i * Ristretto255.Size, Ristretto255.Size).ToArray();
        }

        return result;
    }
}
