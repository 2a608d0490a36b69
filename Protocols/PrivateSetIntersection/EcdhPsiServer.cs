using System.Security.Cryptography;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// The pod (server) in EC Diffie-Hellman PSI on ristretto255: a fresh secret scalar b per session.
/// </summary>
/// <remarks>
/// With H the hash-to-group of <see cref="Ristretto255.HashToGroup"/> and ℓ the group order:
/// 1. Draw b ∈ Z_ℓ^*.
/// 2. <see cref="EncodeServerSet"/>: S = { H(y)^b : y ∈ Y }, de-duplicated and shuffled.
/// 3. <see cref="Respond"/>: for each client element A_i (valid, non-identity) return A_i^b — in order
///    (intersection mode) or shuffled (cardinality mode). One query per session: a second call under the same
///    b is refused, so neither the maximum query size nor the cardinality shuffle can be sidestepped by asking
///    again. A refused query (too large, invalid element) does not use the session up.
/// Work is spread over all cores; libsodium's functions are thread-safe.
/// </remarks>
public sealed class EcdhPsiServer : IPsiServer
{
    private readonly byte[] secret;
    private readonly IRandomSource random;
    private int answered;

    /// <summary>Creates the server with a fresh secret scalar.</summary>
    public EcdhPsiServer(PsiMode mode, IRandomSource random, int maxQuerySize = int.MaxValue)
    {
        this.random = random ?? throw new ArgumentNullException(nameof(random));
        Mode = mode;
        MaxQuerySize = maxQuerySize;
        secret = Ristretto255.RandomScalar(random);
    }

    /// <summary>Creates the server over an existing secret scalar (a pod that reuses its encoded set under one key); the caller keeps and wipes <paramref name="secretScalar"/>.</summary>
    public EcdhPsiServer(PsiMode mode, IRandomSource random, ReadOnlySpan<byte> secretScalar, int maxQuerySize = int.MaxValue)
    {
        this.random = random ?? throw new ArgumentNullException(nameof(random));
        if (secretScalar.Length != Ristretto255.Size || secretScalar.IndexOfAnyExcept((byte)0) < 0)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "the secret is a non-zero 32-byte scalar");
        }

        Mode = mode;
        MaxQuerySize = maxQuerySize;
        secret = secretScalar.ToArray();
    }

    /// <summary>A copy of the secret scalar, for a pod that stores it to reuse its encoded set; wipe it after use.</summary>
    public byte[] ExportSecret() => (byte[])secret.Clone();

    /// <summary>The session's mode.</summary>
    public PsiMode Mode { get; }

    /// <summary>Pod policy: the largest client set it will answer.</summary>
    public int MaxQuerySize { get; }

    /// <summary>Step 2: H(y)^b for the server's records, de-duplicated and shuffled.</summary>
    public byte[][] EncodeServerSet(IReadOnlyList<byte[]> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var unique = records.Distinct(ByteArrayComparer.Instance).ToArray();
        var output = new byte[unique.Length][];
        Parallel.For(0, unique.Length, () => new byte[Ristretto255.Size], (i, _, point) =>
        {
            Ristretto255.HashToGroup(unique[i], point);
            var result = new byte[Ristretto255.Size];
            Ristretto255.Multiply(secret, point, result);
            output[i] = result;
            return point;
        }, _ => { });
        return PsiElements.DeduplicateAndShuffle(output, random);
    }

    /// <summary>Step 3: A_i^b for each client element; refuses invalid points, oversize queries and any second query.</summary>
    public byte[][] Respond(IReadOnlyList<byte[]> clientElements)
    {
        ArgumentNullException.ThrowIfNull(clientElements);
        RefuseIfAnswered();
        if (clientElements.Count > MaxQuerySize)
        {
            throw new ProtocolException(ProtocolError.PolicyRefused, $"query of {clientElements.Count} elements exceeds the pod's maximum of {MaxQuerySize}");
        }

        var output = new byte[clientElements.Count][];
        var bad = -1;
        Parallel.For(0, clientElements.Count, i =>
        {
            var result = new byte[Ristretto255.Size];
            if (!Ristretto255.TryMultiply(secret, clientElements[i], result))
            {
                bad = i;
            }

            output[i] = result;
        });

        if (bad >= 0)
        {
            throw new CryptographicCheckException(ProtocolError.InvalidElement, $"client element {bad} is not a valid ristretto255 element");
        }

        // Claimed only now, atomically: of two concurrent queries exactly one gets an answer.
        if (Interlocked.Exchange(ref answered, 1) != 0)
        {
            throw AlreadyAnswered();
        }

        if (Mode == PsiMode.Cardinality)
        {
            random.Shuffle(output.AsSpan());
        }

        return output;
    }

    /// <inheritdoc />
    public PsiProtocol Protocol => PsiProtocol.Ecdh;

    /// <inheritdoc />
    public int ElementBytes => Ristretto255.Size;

    /// <inheritdoc />
    public byte[] EncodeServerBatch(IReadOnlyList<byte[]> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var output = new byte[records.Count * Ristretto255.Size];
        Parallel.For(0, records.Count, () => new byte[Ristretto255.Size], (i, _, point) =>
        {
            Ristretto255.HashToGroup(records[i], point);
            Ristretto255.Multiply(secret, point, output.AsSpan(i * Ristretto255.Size, Ristretto255.Size));
            return point;
        }, _ => { });
        return output;
    }

    /// <inheritdoc />
    public IPsiQueryResponder BeginQuery(long count)
    {
        PsiElements.ClaimQuery(ref answered, count, MaxQuerySize, AlreadyAnswered);
        return new Responder(this);
    }

    /// <inheritdoc />
    public void Dispose() => CryptographicOperations.ZeroMemory(secret);

    private sealed class Responder(EcdhPsiServer server) : IPsiQueryResponder
    {
        public byte[] Respond(ReadOnlyMemory<byte> elements)
        {
            PsiElements.CheckFlat(elements.Length, Ristretto255.Size);
            var count = elements.Length / Ristretto255.Size;
            var output = new byte[elements.Length];
            var bad = -1;
            Parallel.For(0, count, i =>
            {
                if (!Ristretto255.TryMultiply(server.secret, elements.Span.Slice(i * Ristretto255.Size, Ristretto255.Size), output.AsSpan(i * Ristretto255.Size, Ristretto255.Size)))
                {
                    bad = i;
                }
            });

            return bad >= 0
                ? throw new CryptographicCheckException(ProtocolError.InvalidElement, $"query element {bad} of this batch is not a valid ristretto255 element")
                : output;
        }
    }

    private static MessageRejectedException AlreadyAnswered() =>
        new(ProtocolError.OutOfOrder, "this PSI session already answered a query; start a new session (fresh secret) for another");

    private void RefuseIfAnswered()
    {
        if (Volatile.Read(ref answered) != 0)
        {
            throw AlreadyAnswered();
        }
    }
}
