using System.Collections.Concurrent;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// The pod (signer) in RSA blind-signature PSI: a fresh RSA key per session, signs its own set and blinded queries.
/// </summary>
/// <remarks>
/// With key (n, e, d), k = |n| bytes, H1 onto Z_n and H2 = SHA-256 (<see cref="RsaHashes"/>):
/// 1. Publish (n, e) (<see cref="PublicKey"/>).
/// 2. <see cref="EncodeServerBatch"/>: H2(H1(y)^d mod n) for each record y ∈ Y, batch by batch; the caller sorts the whole
///    encoded set (<see cref="PsiElements.SortUnique(byte[], int)"/>), which de-duplicates it and hides the records' order.
/// 3. <see cref="BeginQuery"/> claims the session's one query of the client's count (refused over the maximum query size,
///    or when already claimed: the maximum cannot be sidestepped by asking again under the same key); its responder
///    returns b_i^d mod n for each blinded b_i (k bytes, 1 &lt; b_i &lt; n − 1), in order, batch by batch. In
///    cardinality mode the modeller sorts the replies, so their order tells nothing.
/// The private operation uses CRT and blinding (OpenSSL or BouncyCastle <c>RsaBlindedEngine</c>), on all cores
/// with one native context per worker thread.
/// </remarks>
public sealed class RsaPsiServer : IPsiServer
{
    private readonly RSA? openSslKey;
    private readonly SafeEvpPKeyHandle? openSslHandle;
    private readonly RsaPrivateCrtKeyParameters? bouncyKey;
    private readonly byte[] modulusDigest;
    private int answered;

    /// <summary>Creates a signer with a fresh key of <paramref name="keyBits"/> (2048, 3072 default, or 4096).</summary>
    public RsaPsiServer(PsiMode mode, IRandomSource random, int keyBits = RsaPsiPublicKey.DefaultBits, RsaSigningBackend backend = RsaSigningBackend.Auto, int maxQuerySize = int.MaxValue)
        : this(mode, random, GenerateKey(keyBits), backend, maxQuerySize, ownsKey: true)
    {
    }

    /// <summary>Creates a signer over an existing private key (tests and key rotation); the caller keeps and wipes <paramref name="privateKey"/>.</summary>
    public RsaPsiServer(PsiMode mode, IRandomSource random, RSAParameters privateKey, RsaSigningBackend backend = RsaSigningBackend.Auto, int maxQuerySize = int.MaxValue)
        : this(mode, random, privateKey, backend, maxQuerySize, ownsKey: false)
    {
    }

    private RsaPsiServer(PsiMode mode, IRandomSource random, RSAParameters privateKey, RsaSigningBackend backend, int maxQuerySize, bool ownsKey)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(random);
            Mode = mode;
            MaxQuerySize = maxQuerySize;
            PublicKey = new RsaPsiPublicKey(privateKey.Modulus!, privateKey.Exponent!);
            PublicKey.Validate();
            modulusDigest = PublicKey.ModulusDigest();
            (Backend, openSslKey, openSslHandle, bouncyKey) = Load(privateKey, backend);
        }
        finally
        {
            // A key generated here exists only inside the backend from now on: wipe the exported private arrays.
            if (ownsKey)
            {
                Wipe(privateKey);
            }
        }
    }

    /// <summary>The session's mode.</summary>
    public PsiMode Mode { get; }

    /// <summary>The backend actually in use.</summary>
    public RsaSigningBackend Backend { get; }

    /// <summary>Pod policy: the largest client set it will sign.</summary>
    public int MaxQuerySize { get; }

    /// <summary>The public key (n, e) to publish.</summary>
    public RsaPsiPublicKey PublicKey { get; }

    /// <summary>Generates a fresh key (OpenSSL's CSPRNG) after checking the size is allowed.</summary>
    public static RSAParameters GenerateKey(int keyBits)
    {
        if (keyBits is not (2048 or 3072 or 4096))
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, $"RSA PSI keys are 2048 (minimum), 3072 (default) or 4096 bits, not {keyBits}");
        }

        using var rsa = RSA.Create(keyBits);
        return rsa.ExportParameters(includePrivateParameters: true);
    }

    /// <summary>
    /// The key-certification proof for this session (<see cref="RsaKeyCertification"/>): σ_i = ρ_i^d mod n through the
    /// raw private operation. Refuses (<see cref="RsaKeyRefusedException"/>) a key the modeller would refuse.
    /// </summary>
    public byte[] ProveKey(RsaKeyBinding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        using var worker = CreateWorker();
        return RsaKeyCertification.Prove(PublicKey, binding, RsaKeyCertification.BitLength(PublicKey.Modulus), (rho, sigma) => worker.Sign(rho, sigma));
    }

    /// <inheritdoc />
    public PsiProtocol Protocol => PsiProtocol.RsaBlind;

    /// <inheritdoc />
    public int ElementBytes => PublicKey.ModulusBytes;

    /// <inheritdoc />
    public byte[] EncodeServerBatch(IReadOnlyList<byte[]> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var output = new byte[records.Count * 32];
        RunParallel(records.Count, (worker, i, buffer) =>
        {
            var h = RsaHashes.FullDomainHash(PublicKey, modulusDigest, records[i]);
            worker.Sign(h, buffer);
            RsaHashes.Tag(buffer).CopyTo(output, i * 32);
        });
        return output;
    }

    /// <inheritdoc />
    public IPsiQueryResponder BeginQuery(long count)
    {
        PsiElements.ClaimQuery(ref answered, count, MaxQuerySize, AlreadyAnswered);
        return new Responder(this);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        openSslHandle?.Dispose();
        openSslKey?.Dispose();
    }

    private static (RsaSigningBackend Backend, RSA? Key, SafeEvpPKeyHandle? Handle, RsaPrivateCrtKeyParameters? Bouncy) Load(RSAParameters privateKey, RsaSigningBackend backend)
    {
        var useOpenSsl = backend switch
        {
            RsaSigningBackend.OpenSsl => OperatingSystem.IsLinux() && OpenSslRawRsa.IsAvailable
                ? true
                : throw new ProtocolException(ProtocolError.NativeLibraryUnavailable, "OpenSSL (libcrypto.so.3) is not available"),
            RsaSigningBackend.BouncyCastle => false,
            _ => OperatingSystem.IsLinux() && OpenSslRawRsa.IsAvailable,
        };

        if (useOpenSsl && OperatingSystem.IsLinux())
        {
            var rsa = new RSAOpenSsl();
            try
            {
                rsa.ImportParameters(privateKey);
                return (RsaSigningBackend.OpenSsl, rsa, rsa.DuplicateKeyHandle(), null);
            }
            catch
            {
                rsa.Dispose();
                throw;
            }
        }

        return (RsaSigningBackend.BouncyCastle, null, null, BouncyCastleRawRsa.ToKey(privateKey));
    }

    private static void Wipe(RSAParameters key)
    {
        foreach (var secret in new[] { key.D, key.P, key.Q, key.DP, key.DQ, key.InverseQ })
        {
            if (secret is not null)
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }
    }

    private static MessageRejectedException AlreadyAnswered() =>
        new(ProtocolError.OutOfOrder, "this PSI session already signed a query; start a new session (fresh key) for another");

    private IRawRsaWorker CreateWorker() =>
        openSslHandle is not null && OperatingSystem.IsLinux()
            ? OpenSslRawRsa.CreateWorker(openSslHandle, PublicKey.ModulusBytes)
            : BouncyCastleRawRsa.CreateWorker(bouncyKey!, PublicKey.ModulusBytes);

    private void RunParallel(int count, Action<IRawRsaWorker, int, byte[]> body)
    {
        if (count == 0)
        {
            return;
        }

        var partitions = Partitioner.Create(0, count, Math.Max(1, Math.Min(256, count / (Environment.ProcessorCount * 4))));
        Parallel.ForEach(
            partitions,
            () => (Worker: CreateWorker(), Buffer: new byte[PublicKey.ModulusBytes]),
            (range, _, local) =>
            {
                for (var i = range.Item1; i < range.Item2; i++)
                {
                    body(local.Worker, i, local.Buffer);
                }

                return local;
            },
            local =>
            {
                local.Worker.Dispose();
                CryptographicOperations.ZeroMemory(local.Buffer);
            });
    }

    private sealed class Responder(RsaPsiServer server) : IPsiQueryResponder
    {
        public byte[] Respond(ReadOnlyMemory<byte> elements)
        {
            var k = server.PublicKey.ModulusBytes;
            PsiElements.CheckFlat(elements.Length, k);
            var count = elements.Length / k;
            for (var i = 0; i < count; i++)
            {
                if (!RsaHashes.IsValidElement(elements.Span.Slice(i * k, k), server.PublicKey.Modulus))
                {
                    throw new CryptographicCheckException(ProtocolError.InvalidElement, $"blinded element {i} of this batch is not a k-byte value in (1, n − 1)");
                }
            }

            var output = new byte[elements.Length];
            server.RunParallel(count, (worker, i, buffer) =>
            {
                worker.Sign(elements.Span.Slice(i * k, k), buffer);
                buffer.CopyTo(output, i * k);
            });
            return output;
        }
    }
}
