using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;
using Smpc.Protocols.Randomness;

namespace Smpc.Bench.Kernels;

/// <summary>
/// kkrt-v1 party steps, one session each (the parties are one-shot state machines, so every iteration gets fresh parties from
/// an [IterationSetup]): base OTs (512), OT extension per bin (modeller WriteRows, pod ReadQueryRows), cuckoo insertion per
/// modeller element and the pod's Reply per pod element. n = 65,536 distinct records on each side (m = 98,560 bins).
/// </summary>
[Config(typeof(SessionConfig))]
public class KkrtSessionBenchmarks
{
    private const int Items = 1 << 16;
    private const int SessionBins = (3 * Items / 2) + 256; // KkrtParameters.Bins(Items), checked in Setup
    private static readonly IRandomSource Random = SystemRandomSource.Instance;
    private byte[] modellerDigests = [];
    private byte[] podDigests = [];
    private byte[] setup = [];
    private byte[] header = [];
    private byte[] queryRows = [];
    private byte[] rowBuffer = [];
    private long bins;
    private KkrtPsiReceiver? receiver;
    private KkrtPsiSender? sender;

    [GlobalSetup]
    public void Setup()
    {
        modellerDigests = RandomNumberGenerator.GetBytes(Items * KkrtItems.DigestBytes);
        podDigests = RandomNumberGenerator.GetBytes(Items * KkrtItems.DigestBytes);
        bins = KkrtParameters.Bins(Items);
        if (bins != SessionBins) throw new InvalidOperationException($"m({Items}) = {bins}, not {SessionBins}");

        // One genuine setup and header: the modeller's B_j do not depend on the pod's R, so any pod can read this header
        // (its OT keys then match no modeller, which costs the same).
        using var firstSender = new KkrtPsiSender(Items, Random);
        setup = firstSender.CreateSetup();
        using var firstReceiver = new KkrtPsiReceiver(modellerDigests, Random);
        firstReceiver.ReadSetup(setup);
        header = firstReceiver.QueryHeader();
        queryRows = RandomNumberGenerator.GetBytes((int)bins * KkrtParameters.RowBytes);
        rowBuffer = new byte[bins * KkrtParameters.RowBytes];
    }

    [IterationCleanup]
    public void DisposeParties()
    {
        receiver?.Dispose();
        sender?.Dispose();
        receiver = null;
        sender = null;
    }

    /// <summary>The modeller's constructor: validates its digests and cuckoo-hashes them into m bins.</summary>
    [Benchmark(OperationsPerInvoke = Items, Description = "modeller cuckoo insertion (constructor), per element")]
    public void CuckooInsertion() => receiver = new KkrtPsiReceiver(modellerDigests, Random);

    [IterationSetup(Target = nameof(ModellerBaseOts))]
    public void FreshReceiver() => receiver = new KkrtPsiReceiver(modellerDigests, Random);

    /// <summary>Modeller: validate 1,024 elements, 512 OT-sender key pairs (b_j, two hash-to-group, three scalar multiplications each), header.</summary>
    [Benchmark(OperationsPerInvoke = KkrtParameters.BaseOts, Description = "modeller base OTs (ReadSetup + QueryHeader), per OT")]
    public byte[] ModellerBaseOts()
    {
        receiver!.ReadSetup(setup);
        return receiver.QueryHeader();
    }

    /// <summary>Pod: 512 OT-receiver messages (a random element and a_j·G − G_j(·) each), then a_j·B_j for each key.</summary>
    [Benchmark(OperationsPerInvoke = KkrtParameters.BaseOts, Description = "pod base OTs (CreateSetup + ReadQueryHeader), per OT")]
    public void PodBaseOts()
    {
        sender = new KkrtPsiSender(Items, Random);
        sender.CreateSetup();
        sender.ReadQueryHeader(header);
    }

    [IterationSetup(Target = nameof(WriteRows))]
    public void ReceiverAfterBaseOts()
    {
        receiver = new KkrtPsiReceiver(modellerDigests, Random);
        receiver.ReadSetup(setup);
        receiver.QueryHeader();
    }

    /// <summary>Modeller: U_b = T⁰_b ⊕ T¹_b ⊕ c_b for every bin (two matrices, code words, own tags).</summary>
    [Benchmark(OperationsPerInvoke = SessionBins, Description = "modeller OT extension (WriteRows, all cores), per bin")]
    public void WriteRows() => receiver!.WriteRows(0, (int)bins, rowBuffer);

    [IterationSetup(Targets = [nameof(ReadQueryRows)])]
    public void SenderAfterBaseOts()
    {
        sender = new KkrtPsiSender(Items, Random);
        sender.CreateSetup();
        sender.ReadQueryHeader(header);
    }

    /// <summary>Pod: Q_b = T^s_b ⊕ (U_b ∧ s) for every bin.</summary>
    [Benchmark(OperationsPerInvoke = SessionBins, Description = "pod OT extension (ReadQueryRows, all cores), per bin")]
    public void ReadQueryRows() => sender!.ReadQueryRows(0, queryRows);

    [IterationSetup(Target = nameof(Reply))]
    public void SenderAfterQuery()
    {
        SenderAfterBaseOts();
        sender!.ReadQueryRows(0, queryRows);
        sender.EndQuery();
    }

    /// <summary>Pod: three positions, three code words and three tags per item, then three sorted lists.</summary>
    [Benchmark(OperationsPerInvoke = Items, Description = "pod Reply (all cores), per element")]
    public byte[] Reply() => sender!.Reply(podDigests);

    private sealed class SessionConfig : ManualConfig
    {
        public SessionConfig()
        {
            // One invocation per iteration (fresh parties each time), 2 warm-ups, 15 measured.
            AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(15)
                .WithInvocationCount(1).WithUnrollFactor(1).WithToolchain(InProcessEmitToolchain.Instance));
        }
    }
}
