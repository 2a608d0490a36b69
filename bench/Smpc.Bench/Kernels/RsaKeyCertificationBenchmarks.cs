using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.Randomness;

namespace Smpc.Bench.Kernels;

/// <summary>The RSA key-certification proof (docs/protocols/psi.md, "Certified RSA keys"): the pod's prove and the modeller's verify, one session each.</summary>
[ShortInProcessJob]
public class RsaKeyCertificationBenchmarks
{
    private RSAParameters key;
    private RsaPsiServer? server;
    private byte[] proof = [];
    private int session;

    [Params(2048, 3072)]
    public int KeyBits { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        key = RsaPsiServer.GenerateKey(KeyBits);
        server = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, key, RsaSigningBackend.OpenSsl);
        proof = server.ProveKey(Binding(0));
    }

    [GlobalCleanup]
    public void Cleanup() => server?.Dispose();

    /// <summary>The pod: 8 challenges hashed into Z_n^* and their e-th roots through OpenSSL's raw private operation (a fresh session id each time).</summary>
    [Benchmark(Description = "prove (pod)")]
    public byte[] Prove() => server!.ProveKey(Binding(++session));

    /// <summary>The modeller: e = 65537, size, parity, trial division below 65537, 8 challenges and 8 σ^e mod n.</summary>
    [Benchmark(Description = "verify (modeller)")]
    public CertifiedRsaPsiKey Verify() => RsaKeyCertification.Verify(server!.PublicKey, proof, Binding(0), KeyBits);

    private static RsaKeyBinding Binding(int i) => new("bench", "certify-" + i);
}
