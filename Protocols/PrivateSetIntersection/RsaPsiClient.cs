using System.Security.Cryptography;
using Smpc.Protocols.Randomness;
using BigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// The modeller (client) in RSA blind-signature PSI: blinds its records, unblinds and verifies the signatures.
/// </summary>
/// <remarks>
/// 1. <see cref="Blind"/>: for each record x_i draw r_i ∈ [2, n − 1] with gcd(r_i, n) = 1 and send
///    b_i = H1(x_i) · r_i^e mod n. b_i is uniform in Z_n^*: the signer learns nothing of x_i.
/// 2. <see cref="Finish"/>: for each signature σ (1 &lt; σ &lt; n) unblind s_i = σ · r_i^{-1} = H1(x_i)^d, verify
///    s_i^e = H1(x_i) (else the signer cheated), and test H2(s_i) ∈ T.
/// In cardinality mode replies arrive shuffled; the client matches them back through σ^e = b_i, which any
/// client can do because RSA signatures are publicly verifiable — see docs/protocols/psi.md on what leaks.
/// The unblinding factors r_i^{-1} and the hashes H1(x_i) are kept as byte arrays and wiped once
/// <see cref="Finish"/> succeeds; a session finishes once.
/// </remarks>
public sealed class RsaPsiClient
{
    private readonly RsaPsiPublicKey key;
    private readonly IRandomSource random;
    private readonly BigInteger n;
    private readonly BigInteger e;
    private readonly byte[] modulusDigest;
    private byte[][]? hashes;
    private byte[][]? blinded;
    private byte[][]? unblinders;
    private bool finished;
    private readonly List<byte[]> batchHashes = [];
    private readonly List<byte[]> batchBlinded = [];
    private readonly List<byte[]> batchUnblinders = [];
    private Dictionary<byte[], int>? blindedIndex;
    private int[]? claimed;
    private readonly SafeEvpPKeyHandle? publicKeyHandle;

    /// <summary>Creates a client for a pod key certified for this session (<see cref="RsaKeyCertification.Verify"/>): nothing is blinded under an uncertified key.</summary>
    public RsaPsiClient(CertifiedRsaPsiKey certifiedKey, PsiMode mode, IRandomSource random)
        : this((certifiedKey ?? throw new ArgumentNullException(nameof(certifiedKey))).Key, mode, random)
    {
    }

    /// <summary>Creates a client for a key the caller vouches for (unit tests of the blinding arithmetic); refuses weak or malformed keys.</summary>
    internal RsaPsiClient(RsaPsiPublicKey publicKey, PsiMode mode, IRandomSource random)
    {
        key = publicKey ?? throw new ArgumentNullException(nameof(publicKey));
        key.Validate();
        this.random = random ?? throw new ArgumentNullException(nameof(random));
        Mode = mode;
        n = new BigInteger(1, key.Modulus);
        e = new BigInteger(1, key.Exponent);
        modulusDigest = key.ModulusDigest();
        if (OperatingSystem.IsLinux() && OpenSslRawRsa.IsAvailable)
        {
            using var rsa = new RSAOpenSsl();
            rsa.ImportParameters(new RSAParameters { Modulus = key.Modulus, Exponent = key.Exponent });
            publicKeyHandle = rsa.DuplicateKeyHandle();
        }
    }

    /// <summary>
    /// x^e mod n for k-byte x &lt; n: OpenSSL's raw public operation where available (about 15× BouncyCastle), else BouncyCastle.
    /// One OpenSSL context per call site batch; callers use <see cref="RaiseToE"/> inside parallel loops via <see cref="PublicWorker"/>.
    /// </summary>
    private IRawRsaWorker? PublicWorker() =>
        publicKeyHandle is not null && OperatingSystem.IsLinux() ? OpenSslRawRsa.CreatePublicWorker(publicKeyHandle, key.ModulusBytes) : null;

    private BigInteger RaiseToE(IRawRsaWorker? worker, BigInteger x)
    {
        if (worker is null)
        {
            return x.ModPow(e, n);
        }

        var output = new byte[key.ModulusBytes];
        worker.Sign(RsaHashes.ToFixed(x, key.ModulusBytes), output);
        return new BigInteger(1, output);
    }

    /// <summary>The session's mode.</summary>
    public PsiMode Mode { get; }

    /// <summary>Step 1: blinded values H1(x)·r^e mod n, k bytes each, in record order.</summary>
    public byte[][] Blind(IReadOnlyList<byte[]> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (blinded is not null)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, "records were already blinded for this session");
        }

        var k = key.ModulusBytes;
        var r = new BigInteger[records.Count];
        var buffer = new byte[k + 16];
        for (var i = 0; i < r.Length; i++)
        {
            do
            {
                random.Fill(buffer);
                r[i] = new BigInteger(1, buffer).Mod(n);
            }
            while (r[i].CompareTo(BigInteger.Two) < 0 || !r[i].Gcd(n).Equals(BigInteger.One));
        }

        CryptographicOperations.ZeroMemory(buffer);
        var h = new byte[records.Count][];
        var b = new byte[records.Count][];
        var inverse = new byte[records.Count][];
        Parallel.For(0, records.Count, i =>
        {
            h[i] = RsaHashes.FullDomainHash(key, modulusDigest, records[i]);
            var hv = new BigInteger(1, h[i]);
            b[i] = RsaHashes.ToFixed(hv.Multiply(r[i].ModPow(e, n)).Mod(n), k);
            inverse[i] = RsaHashes.ToFixed(r[i].ModInverse(n), k);
        });

        hashes = h;
        blinded = b;
        unblinders = inverse;
        return b;
    }

    /// <summary>Step 2: unblinds and verifies every signature, then intersects with the server's tags.</summary>
    public PsiResult Finish(IReadOnlyList<byte[]> signatures, IReadOnlyList<byte[]> serverTags)
    {
        ArgumentNullException.ThrowIfNull(signatures);
        ArgumentNullException.ThrowIfNull(serverTags);
        if (blinded is null)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, "blind the records before finishing");
        }

        if (finished)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, "this PSI session already finished; its unblinding factors are wiped");
        }

        if (signatures.Count != blinded.Length)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"{signatures.Count} signatures for {blinded.Length} blinded values");
        }

        var tags = new HashSet<byte[]>(ByteArrayComparer.Instance);
        foreach (var t in serverTags)
        {
            if (t.Length != 32)
            {
                throw new MessageRejectedException(ProtocolError.Malformed, "server tags are 32 bytes");
            }

            tags.Add(t);
        }

        for (var i = 0; i < signatures.Count; i++)
        {
            if (!RsaHashes.IsValidElement(signatures[i], key.Modulus))
            {
                throw new CryptographicCheckException(ProtocolError.InvalidElement, $"signature {i} is not a k-byte value in (1, n − 1)");
            }
        }

        // Map each reply to its blinded value: in order, or via σ^e = b_i when shuffled.
        var owner = new int[signatures.Count];
        if (Mode == PsiMode.Intersection)
        {
            for (var i = 0; i < owner.Length; i++)
            {
                owner[i] = i;
            }
        }
        else
        {
            var index = new Dictionary<byte[], int>(ByteArrayComparer.Instance);
            for (var i = 0; i < blinded.Length; i++)
            {
                index.TryAdd(blinded[i], i);
            }

            Parallel.For(0, signatures.Count, i =>
            {
                var raised = RsaHashes.ToFixed(new BigInteger(1, signatures[i]).ModPow(e, n), key.ModulusBytes);
                owner[i] = index.TryGetValue(raised, out var j) ? j : -1;
            });
        }

        var matched = new bool[blinded.Length];
        var bad = -1;
        Parallel.For(0, signatures.Count, i =>
        {
            var j = owner[i];
            if (j < 0)
            {
                bad = i;
                return;
            }

            var s = new BigInteger(1, signatures[i]).Multiply(new BigInteger(1, unblinders![j])).Mod(n);
            if (!s.ModPow(e, n).Equals(new BigInteger(1, hashes![j])))
            {
                bad = i;
                return;
            }

            if (tags.Contains(RsaHashes.Tag(RsaHashes.ToFixed(s, key.ModulusBytes))))
            {
                matched[j] = true;
            }
        });

        if (bad >= 0)
        {
            throw new CryptographicCheckException(ProtocolError.BadSignature, $"signature {bad} does not verify after unblinding");
        }

        // r_i^{-1} (which would unblind the pod's replies) and H1(x_i) (a dictionary-testable hash of each record) are done with.
        foreach (var secret in unblinders!.Concat(hashes!))
        {
            CryptographicOperations.ZeroMemory(secret);
        }

        unblinders = null;
        hashes = null;
        finished = true;
        var indices = Enumerable.Range(0, matched.Length).Where(i => matched[i]).ToArray();
        return Mode == PsiMode.Intersection ? new PsiResult(indices.Length, indices) : new PsiResult(indices.Length, null);
    }

    /// <summary>Records blinded so far by <see cref="BlindBatch"/>.</summary>
    public int BlindedCount => batchBlinded.Count;

    /// <summary>Step 1 streamed: H1(x)·r^e mod n for the next batch of records, in order, as one flat array of k-byte values.</summary>
    public byte[] BlindBatch(IReadOnlyList<byte[]> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (blinded is not null || blindedIndex is not null)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, "this session already blinded its records or started unblinding");
        }

        var k = key.ModulusBytes;
        var (r, rInverse) = DrawInvertibleBlindingFactors(records.Count);
        var h = new byte[records.Count][];
        var inverse = new byte[records.Count][];
        var output = new byte[records.Count * k];
        Parallel.For(0, records.Count, PublicWorker, (i, _, worker) =>
        {
            h[i] = RsaHashes.FullDomainHash(key, modulusDigest, records[i]);
            RsaHashes.ToFixed(new BigInteger(1, h[i]).Multiply(RaiseToE(worker, r[i])).Mod(n), k).CopyTo(output, i * k);
            inverse[i] = RsaHashes.ToFixed(rInverse[i], k);
            return worker;
        }, worker => worker?.Dispose());

        for (var i = 0; i < records.Count; i++)
        {
            batchHashes.Add(h[i]);
            batchBlinded.Add(output.AsSpan(i * k, k).ToArray());
            batchUnblinders.Add(inverse[i]);
        }

        return output;
    }

    /// <summary>Intersection mode, streamed: unblinds and verifies the signatures of records <paramref name="first"/>.. and returns their 32-byte tags H2(H1(x)^d).</summary>
    public byte[] UnblindBatch(int first, ReadOnlyMemory<byte> signatures)
    {
        var k = key.ModulusBytes;
        PsiElements.CheckFlat(signatures.Length, k);
        var count = signatures.Length / k;
        if (first < 0 || first + count > batchBlinded.Count)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"signatures {first}..{first + count - 1} do not match the {batchBlinded.Count} blinded values");
        }

        return UnblindInto(signatures, count, i => first + i);
    }

    /// <summary>
    /// Cardinality mode, streamed: signatures arrive in the pod's order; each is matched to its blinded value through
    /// σ^e = b_i (every blinded value at most once), unblinded and verified; returns the 32-byte tags in arrival order.
    /// </summary>
    public byte[] UnblindShuffledBatch(ReadOnlyMemory<byte> signatures)
    {
        var k = key.ModulusBytes;
        PsiElements.CheckFlat(signatures.Length, k);
        if (blindedIndex is null)
        {
            blindedIndex = new Dictionary<byte[], int>(ByteArrayComparer.Instance);
            for (var i = 0; i < batchBlinded.Count; i++)
            {
                blindedIndex.TryAdd(batchBlinded[i], i);
            }

            claimed = new int[batchBlinded.Count];
        }

        var count = signatures.Length / k;
        var owner = new int[count];
        Parallel.For(0, count, PublicWorker, (i, _, worker) =>
        {
            var signature = signatures.Span.Slice(i * k, k);
            var raised = RsaHashes.IsValidElement(signature, key.Modulus) ? RsaHashes.ToFixed(RaiseToE(worker, new BigInteger(1, signature.ToArray())), k) : [];
            owner[i] = blindedIndex.TryGetValue(raised, out var j) && Interlocked.Exchange(ref claimed![j], 1) == 0 ? j : -1;
            return worker;
        }, worker => worker?.Dispose());

        var orphan = Array.IndexOf(owner, -1);
        if (orphan >= 0)
        {
            throw new CryptographicCheckException(ProtocolError.BadSignature, $"signature {orphan} of this batch answers no blinded value (or one answered already)");
        }

        return UnblindInto(signatures, count, i => owner[i]);
    }

    /// <summary>Wipes the unblinding factors and hashes once the session is done.</summary>
    public void Wipe()
    {
        foreach (var secret in batchUnblinders.Concat(batchHashes))
        {
            CryptographicOperations.ZeroMemory(secret);
        }

        batchUnblinders.Clear();
        batchHashes.Clear();
    }

    private byte[] UnblindInto(ReadOnlyMemory<byte> signatures, int count, Func<int, int> ownerOf)
    {
        var k = key.ModulusBytes;
        var tags = new byte[count * 32];
        var bad = -1;
        Parallel.For(0, count, PublicWorker, (i, _, worker) =>
        {
            var signature = signatures.Span.Slice(i * k, k);
            var j = ownerOf(i);
            if (!RsaHashes.IsValidElement(signature, key.Modulus))
            {
                bad = i;
                return worker;
            }

            var s = new BigInteger(1, signature.ToArray()).Multiply(new BigInteger(1, batchUnblinders[j])).Mod(n);
            if (s.SignValue == 0 || !RaiseToE(worker, s).Equals(new BigInteger(1, batchHashes[j])))
            {
                bad = i;
                return worker;
            }

            RsaHashes.Tag(RsaHashes.ToFixed(s, k)).CopyTo(tags, i * 32);
            return worker;
        }, worker => worker?.Dispose());

        return bad >= 0
            ? throw new CryptographicCheckException(ProtocolError.BadSignature, $"signature {bad} of this batch does not verify after unblinding")
            : tags;
    }

    /// <summary>
    /// Blinding factors r_i ∈ [2, n − 1] and their inverses mod n by Montgomery's batch inversion: one modular inverse
    /// for the whole batch and three multiplications per factor, instead of a gcd and an inverse per factor. A factor
    /// sharing a prime with n (which would factor n: probability ≈ 2^-1000) makes the product non-invertible; the batch
    /// is then drawn again.
    /// </summary>
    private (BigInteger[] R, BigInteger[] Inverse) DrawInvertibleBlindingFactors(int count)
    {
        var r = new BigInteger[count];
        var inverse = new BigInteger[count];
        if (count == 0)
        {
            return (r, inverse);
        }

        var buffer = new byte[key.ModulusBytes + 16];
        while (true)
        {
            for (var i = 0; i < r.Length; i++)
            {
                do
                {
                    random.Fill(buffer);
                    r[i] = new BigInteger(1, buffer).Mod(n);
                }
                while (r[i].CompareTo(BigInteger.Two) < 0);
            }

            var prefix = new BigInteger[count];
            prefix[0] = r[0];
            for (var i = 1; i < count; i++)
            {
                prefix[i] = prefix[i - 1].Multiply(r[i]).Mod(n);
            }

            BigInteger running;
            try
            {
                running = prefix[^1].ModInverse(n);
            }
            catch (ArithmeticException)
            {
                continue;
            }

            for (var i = count - 1; i > 0; i--)
            {
                inverse[i] = running.Multiply(prefix[i - 1]).Mod(n);
                running = running.Multiply(r[i]).Mod(n);
            }

            inverse[0] = running;
            CryptographicOperations.ZeroMemory(buffer);
            return (r, inverse);
        }
    }
}
