using System.Security.Cryptography;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// The pod (server) in ECDH PSI, version <see cref="EcdhPsiVersion.Current"/>: a fresh secret scalar k per session.
/// </summary>
/// <remarks>
/// With H the RFC 9497 HashToGroup (<see cref="RistrettoOprf.HashToGroup"/>) and ℓ the group order:
/// 1. Draw k ∈ Z_ℓ^*.
/// 2. <see cref="EncodeServerBatch"/>, intersection: the first 32 bytes of Evaluate(k, y) for each record y ∈ Y;
///    cardinality (counted by the pod): k·H(y), for the modeller to raise to its own secret. The caller sorts the whole
///    encoded set (<see cref="PsiElements.SortUnique(byte[], int)"/>), which de-duplicates it and hides the records' order.
/// 3. <see cref="BeginQuery"/> claims the session's one query of the client's count (refused over the maximum query size,
///    or when already claimed); its responder returns BlindEvaluate(k, A_i) = k·A_i for each valid, non-identity client
///    element A_i, in order, batch by batch. The pod agent wraps it in a <see cref="PsiQueryGuard"/> (exact count, no
///    duplicates). In cardinality mode the answers never leave the pod: <see cref="PodCardinalityCounter"/> counts them.
/// Work is spread over all cores; libsodium's functions are thread-safe.
/// </remarks>
public sealed class EcdhPsiServer : IPsiServer
{
    private readonly byte[] secret;
    private int answered;

    /// <summary>Creates the server with a fresh secret scalar.</summary>
    public EcdhPsiServer(PsiMode mode, IRandomSource random, int maxQuerySize = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(random);
        Mode = mode;
        MaxQuerySize = maxQuerySize;
        secret = Ristretto255.RandomScalar(random);
    }

    /// <summary>Creates the server over an existing secret scalar (a pod that reuses its encoded set under one key); the caller keeps and wipes <paramref name="secretScalar"/>.</summary>
    public EcdhPsiServer(PsiMode mode, IRandomSource random, ReadOnlySpan<byte> secretScalar, int maxQuerySize = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(random);
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

    /// <inheritdoc />
    public PsiProtocol Protocol => PsiProtocol.Ecdh;

    /// <inheritdoc />
    public int ElementBytes => Ristretto255.Size;

    /// <inheritdoc />
    public byte[] EncodeServerBatch(IReadOnlyList<byte[]> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var output = new byte[records.Count * Ristretto255.Size];
        if (Mode == PsiMode.Cardinality)
        {
            Parallel.For(0, records.Count, () => new byte[Ristretto255.Size], (i, _, point) =>
            {
                RistrettoOprf.HashToGroup(records[i], point);
                Ristretto255.Multiply(secret, point, output.AsSpan(i * Ristretto255.Size, Ristretto255.Size));
                return point;
            }, _ => { });
            return output;
        }

        Parallel.For(0, records.Count, () => new byte[RistrettoOprf.OutputBytes], (i, _, full) =>
        {
            RistrettoOprf.Evaluate(secret, records[i], full);
            full.AsSpan(0, EcdhPsiVersion.TagBytes).CopyTo(output.AsSpan(i * EcdhPsiVersion.TagBytes));
            return full;
        }, full => CryptographicOperations.ZeroMemory(full));
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
                if (!RistrettoOprf.TryBlindEvaluate(server.secret, elements.Span.Slice(i * Ristretto255.Size, Ristretto255.Size), output.AsSpan(i * Ristretto255.Size, Ristretto255.Size)))
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
}
