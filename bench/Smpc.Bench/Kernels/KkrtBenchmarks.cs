using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Bench.Kernels;

/// <summary>
/// kkrt-v1 symmetric kernels, one core, 1 MiB per invocation: the AES-NI counter-mode PRG and fixed-key ECB of
/// <see cref="Aes128Ecb"/> vs raw AES-128 through OpenSSL (.NET <c>Aes.EncryptEcb</c> over prepared counter blocks).
/// </summary>
[ShortInProcessJob]
public class KkrtBenchmarks
{
    private const int Bytes = 1 << 20;
    private readonly byte[] key = Convert.FromHexString("000102030405060708090a0b0c0d0e0f");
    private System.Security.Cryptography.Aes openSsl = null!;
    private Aes128Ecb aesNi = null!;
    private byte[] counters = [];
    private byte[] output = [];

    [GlobalSetup]
    public void Setup()
    {
        openSsl = System.Security.Cryptography.Aes.Create();
        openSsl.Key = key;
        aesNi = new Aes128Ecb(key);
        counters = new byte[Bytes];
        for (var t = 0; t < Bytes / 16; t++) BitConverter.TryWriteBytes(counters.AsSpan(16 * t), (long)t);
        output = new byte[Bytes];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        openSsl.Dispose();
        aesNi.Dispose();
    }

    /// <summary>OpenSSL AES-128-ECB over 65,536 prepared counter blocks: the raw throughput any CTR PRG built on .NET's Aes gets.</summary>
    [Benchmark(Baseline = true, Description = "OpenSSL AES-128 over counter blocks (.NET Aes.EncryptEcb), 1 MiB")]
    public int OpenSslCounterBlocks() => openSsl.EncryptEcb(counters, output, PaddingMode.None);

    /// <summary>The kkrt PRG (AES-NI, counters built in registers), 1 MiB.</summary>
    [Benchmark(Description = "AesCtrPrg.Generate (AES-NI), 1 MiB")]
    public void Prg() => AesCtrPrg.Generate(aesNi, 0, output);

    /// <summary>Fixed-key AES-128 ECB (AES-NI), 1 MiB: the code-word and cuckoo-hash primitive.</summary>
    [Benchmark(Description = "Aes128Ecb.Encrypt (AES-NI), 1 MiB")]
    public void Ecb() => aesNi.Encrypt(counters, output);
}
