using System.Security.Cryptography;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// The modeller (client) in EC Diffie-Hellman PSI on ristretto255: a fresh secret scalar a per session.
/// </summary>
/// <remarks>
/// 1. <see cref="Blind"/>: send A_i = H(x_i)^a for each record.
/// 2. <see cref="Finish"/>, intersection mode: unblind each reply (A_i^b)^{1/a} = H(x_i)^b and test membership
///    in S = {H(y)^b}. Cardinality mode: replies are shuffled, so instead compute S^a = {H(y)^{ab}} and count
///    the replies in it — which reply belongs to which record is unknown to the client.
/// Every element received is validated; invalid encodings and the identity are refused.
/// </remarks>
public sealed class EcdhPsiClient : IDisposable
{
    private readonly byte[] secret;
    private int blindedCount = -1;
    private byte[]? inverse;

    /// <summary>Creates the client with a fresh secret scalar.</summary>
    public EcdhPsiClient(PsiMode mode, IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(random);
        Mode = mode;
        secret = Ristretto255.RandomScalar(random);
    }

    /// <summary>The session's mode.</summary>
    public PsiMode Mode { get; }

    /// <summary>Step 1: H(x_i)^a in record order.</summary>
    public byte[][] Blind(IReadOnlyList<byte[]> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (blindedCount >= 0)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, "records were already blinded for this session");
        }

        var output = new byte[records.Count][];
        Parallel.For(0, records.Count, () => new byte[Ristretto255.Size], (i, _, point) =>
        {
            Ristretto255.HashToGroup(records[i], point);
            var result = new byte[Ristretto255.Size];
            Ristretto255.Multiply(secret, point, result);
            output[i] = result;
            return point;
        }, _ => { });
        blindedCount = records.Count;
        return output;
    }

    /// <summary>Step 2: the intersection (or its size) from the server's replies and encoded set.</summary>
    public PsiResult Finish(IReadOnlyList<byte[]> replies, IReadOnlyList<byte[]> serverSet)
    {
        ArgumentNullException.ThrowIfNull(replies);
        ArgumentNullException.ThrowIfNull(serverSet);
        if (blindedCount < 0)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, "blind the records before finishing");
        }

        if (replies.Count != blindedCount)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"{replies.Count} replies for {blindedCount} blinded elements");
        }

        foreach (var element in replies.Concat(serverSet))
        {
            if (!Ristretto255.IsValid(element))
            {
                throw new CryptographicCheckException(ProtocolError.InvalidElement, "received an invalid ristretto255 element");
            }
        }

        if (Mode == PsiMode.Intersection)
        {
            var set = new HashSet<byte[]>(serverSet, ByteArrayComparer.Instance);
            var inverse = Ristretto255.InvertScalar(secret);
            var matched = new bool[replies.Count];
            Parallel.For(0, replies.Count, i =>
            {
                var unblinded = new byte[Ristretto255.Size];
                Ristretto255.Multiply(inverse, replies[i], unblinded);
                matched[i] = set.Contains(unblinded);
            });
            CryptographicOperations.ZeroMemory(inverse);
            var indices = Enumerable.Range(0, matched.Length).Where(i => matched[i]).ToArray();
            return new PsiResult(indices.Length, indices);
        }

        var doubled = new byte[serverSet.Count][];
        Parallel.For(0, serverSet.Count, i =>
        {
            var result = new byte[Ristretto255.Size];
            Ristretto255.Multiply(secret, serverSet[i], result);
            doubled[i] = result;
        });
        var lookup = new HashSet<byte[]>(doubled, ByteArrayComparer.Instance);
        return new PsiResult(replies.Count(lookup.Contains), null);
    }

    /// <summary>Records blinded so far (by <see cref="Blind"/> or <see cref="BlindBatch"/>).</summary>
    public int BlindedCount => Math.Max(blindedCount, 0);

    /// <summary>Step 1 streamed: H(x_i)^a for the next batch of records, in order, as one flat array of 32-byte elements.</summary>
    public byte[] BlindBatch(IReadOnlyList<byte[]> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var output = new byte[records.Count * Ristretto255.Size];
        Parallel.For(0, records.Count, () => new byte[Ristretto255.Size], (i, _, point) =>
        {
            Ristretto255.HashToGroup(records[i], point);
            Ristretto255.Multiply(secret, point, output.AsSpan(i * Ristretto255.Size, Ristretto255.Size));
            return point;
        }, _ => { });
        blindedCount = BlindedCount + records.Count;
        return output;
    }

    /// <summary>Intersection mode, streamed: (A_i^b)^{1/a} = H(x_i)^b for a batch of replies, comparable with the pod's encoded set.</summary>
    public byte[] UnblindBatch(ReadOnlyMemory<byte> replies)
    {
        inverse ??= Ristretto255.InvertScalar(secret);
        return Raise(inverse, replies, "reply");
    }

    /// <summary>Cardinality mode, streamed: e^a for a batch of the pod's encoded elements e = H(y)^b, giving H(y)^{ab}.</summary>
    public byte[] RaiseBatch(ReadOnlyMemory<byte> elements) => Raise(secret, elements, "pod element");

    /// <inheritdoc />
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(secret);
        if (inverse is not null)
        {
            CryptographicOperations.ZeroMemory(inverse);
        }
    }

    private static byte[] Raise(byte[] scalar, ReadOnlyMemory<byte> elements, string what)
    {
        PsiElements.CheckFlat(elements.Length, Ristretto255.Size);
        var output = new byte[elements.Length];
        var bad = -1;
        Parallel.For(0, elements.Length / Ristretto255.Size, i =>
        {
            var element = elements.Span.Slice(i * Ristretto255.Size, Ristretto255.Size);
            if (!Ristretto255.IsValid(element) || !Ristretto255.TryMultiply(scalar, element, output.AsSpan(i * Ristretto255.Size, Ristretto255.Size)))
            {
                bad = i;
            }
        });

        return bad >= 0
            ? throw new CryptographicCheckException(ProtocolError.InvalidElement, $"{what} {bad} of this batch is not a valid ristretto255 element")
            : output;
    }
}
