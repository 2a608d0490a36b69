using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.Randomness;

namespace Smpc.Bench.Kernels;

/// <summary>RSA blind signatures per second on all cores: OpenSSL raw RSA (baseline) vs the BouncyCastle fallback.</summary>
[ShortInProcessJob]
public class RsaSigningBenchmarks
{
    private const int OpenSslBatch = 512;
    private const int BouncyBatch = 64;
    private RSAParameters key;
    private byte[] blinded = [];
    private int modulusBytes;

    [Params(2048, 3072)]
    public int KeyBits { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        key = RsaPsiServer.GenerateKey(KeyBits);
        using var server = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, key, RsaSigningBackend.OpenSsl);
        var binding = new RsaKeyBinding("bench", "rsa-signing");
        var certified = RsaKeyCertification.Verify(server.PublicKey, server.ProveKey(binding), binding, KeyBits);
        var client = new RsaPsiClient(certified, PsiMode.Intersection, SystemRandomSource.Instance);
        modulusBytes = server.ElementBytes;
        blinded = client.BlindBatch([.. Enumerable.Range(0, OpenSslBatch).Select(BitConverter.GetBytes)]);
    }

    // Signers are one-shot per session, so each invocation makes a fresh one from the same key (a key import: about 1%
    // of the batch's time for OpenSSL, less for BouncyCastle).

    /// <summary>One signature (time per op; signatures/s = 1 / time) with OpenSSL on all cores.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = OpenSslBatch, Description = "OpenSSL raw RSA, all cores")]
    public byte[] OpenSslSign()
    {
        using var signer = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, key, RsaSigningBackend.OpenSsl);
        return signer.BeginQuery(OpenSslBatch).Respond(blinded);
    }

    /// <summary>One signature with BouncyCastle RsaBlindedEngine on all cores.</summary>
    [Benchmark(OperationsPerInvoke = BouncyBatch, Description = "BouncyCastle RsaBlindedEngine, all cores")]
    public byte[] BouncyCastleSign()
    {
        using var signer = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, key, RsaSigningBackend.BouncyCastle);
        return signer.BeginQuery(BouncyBatch).Respond(blinded.AsMemory(0, BouncyBatch * modulusBytes));
    }
}
