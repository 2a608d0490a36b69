using BenchmarkDotNet.Attributes;
using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.Randomness;

namespace Smpc.Bench.Kernels;

/// <summary>ristretto255 PSI elements per second on all cores vs bare libsodium scalar multiplication on all cores.</summary>
[ShortInProcessJob]
public class RistrettoPsiBenchmarks
{
    private const int Batch = 4096;
    private EcdhPsiServer server = null!;
    private byte[][] records = [];
    private byte[][] points = [];
    private byte[] query = [];
    private byte[] scalar = [];

    [GlobalSetup]
    public void Setup()
    {
        server = new EcdhPsiServer(PsiMode.Intersection, SystemRandomSource.Instance);
        using var client = new EcdhPsiClient(PsiMode.Intersection, SystemRandomSource.Instance);
        records = [.. Enumerable.Range(0, Batch).Select(i => System.Text.Encoding.UTF8.GetBytes($"person{i}@example.org"))];
        points = client.Blind(records);
        query = PsiElements.Serialize(points, Ristretto255.Size);
        scalar = Ristretto255.RandomScalar(SystemRandomSource.Instance);
    }

    [GlobalCleanup]
    public void Cleanup() => server.Dispose();

    /// <summary>crypto_scalarmult_ristretto255 alone, Parallel.For over all cores.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch, Description = "bare libsodium scalarmult, all cores")]
    public void BareScalarMult() => Parallel.For(0, Batch, () => new byte[32], (i, _, output) =>
    {
        Ristretto255.TryMultiply(scalar, points[i], output);
        return output;
    }, _ => { });

    /// <summary>Server answers a client query: validate + scalarmult per element. Servers are one-shot per session, so each
    /// invocation makes a fresh one (one random scalar: negligible next to 4096 multiplications).</summary>
    [Benchmark(OperationsPerInvoke = Batch, Description = "PSI respond (BlindEvaluate k·A_i), all cores")]
    public byte[] Respond()
    {
        using var fresh = new EcdhPsiServer(PsiMode.Intersection, SystemRandomSource.Instance);
        return fresh.BeginQuery(Batch).Respond(query);
    }

    /// <summary>Server encodes its own set as the pod does (ecdh-oprf-v1): OPRF Evaluate = expand_message_xmd + hash-to-group + scalarmult + SHA-512, then sorted.</summary>
    [Benchmark(OperationsPerInvoke = Batch, Description = "PSI encode server set (OPRF Evaluate), all cores")]
    public byte[] EncodeServerSet() => PsiElements.SortUnique(server.EncodeServerBatch(records), Ristretto255.Size);
}
