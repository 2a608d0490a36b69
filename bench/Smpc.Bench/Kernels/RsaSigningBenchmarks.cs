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
    private RsaPsiServer openSsl = null!;
    private RsaPsiServer bouncy = null!;
    private byte[][] blinded = [];

    [Params(2048, 3072)]
    public int KeyBits { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        RSAParameters key = RsaPsiServer.GenerateKey(KeyBits);
        openSsl = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, key, RsaSigningBackend.OpenSsl);
        bouncy = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, key, RsaSigningBackend.BouncyCastle);
        var client = new RsaPsiClient(openSsl.PublicKey, PsiMode.Intersection, SystemRandomSource.Instance);
        blinded = client.Blind([.. Enumerable.Range(0, OpenSslBatch).Select(BitConverter.GetBytes)]);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        openSsl.Dispose();
        bouncy.Dispose();
    }

    /// <summary>One signature (time per op; signatures/s = 1 / time) with OpenSSL on all cores.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = OpenSslBatch, Description = "OpenSSL raw RSA, all cores")]
    public byte[][] OpenSslSign() => openSsl.SignBlinded(blinded);

    /// <summary>One signature with BouncyCastle RsaBlindedEngine on all cores.</summary>
    [Benchmark(OperationsPerInvoke = BouncyBatch, Description = "BouncyCastle RsaBlindedEngine, all cores")]
    public byte[][] BouncyCastleSign() => bouncy.SignBlinded(blinded[..BouncyBatch]);
}
