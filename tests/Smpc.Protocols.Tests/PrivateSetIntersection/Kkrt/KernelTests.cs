using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Protocols.Tests.PrivateSetIntersection.Kkrt;

/// <summary>
/// AES-128 (FIPS 197 appendix C.1, NIST SP 800-38A F.1.1) on the AES-NI and the portable path, both against .NET's OpenSSL
/// <c>Aes</c> on random keys and lengths, and the counter-mode PRG of kkrt-v1 against a slow reference built on .NET's <c>Aes</c>.
/// </summary>
public sealed class KernelTests
{
    public static TheoryData<bool> Paths => new() { false, true };

    [Theory]
    [MemberData(nameof(Paths))]
    public void Aes128_MatchesFips197AppendixC1(bool portable)
    {
        using var aes = new Aes128Ecb(Hex.Bytes("000102030405060708090a0b0c0d0e0f"), portable);
        var block = Hex.Bytes("00112233445566778899aabbccddeeff");
        aes.Encrypt(block, block);
        Assert.Equal("69c4e0d86a7b0430d8cdb78070b4c55a", Hex.Of(block));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Aes128Ecb_MatchesSp80038aF11(bool portable)
    {
        using var aes = new Aes128Ecb(Hex.Bytes("2b7e151628aed2a6abf7158809cf4f3c"), portable);
        var plaintext = Hex.Bytes("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710");
        var ciphertext = new byte[64];
        aes.Encrypt(plaintext, ciphertext);
        Assert.Equal("3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4", Hex.Of(ciphertext));
    }

    [Fact]
    public void Aes128Ecb_TakesTheHardwarePath_WhereAesNiExists()
    {
        using var aes = new Aes128Ecb(new byte[16]);
        Assert.Equal(System.Runtime.Intrinsics.X86.Aes.IsSupported, aes.IsHardwareAccelerated);
        using var portable = new Aes128Ecb(new byte[16], forcePortable: true);
        Assert.False(portable.IsHardwareAccelerated);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Aes128Ecb_MatchesDotNetAes_OnRandomKeysAndLengths(bool portable)
    {
        var random = new DeterministicTestRandom(1);
        foreach (var blocks in new[] { 0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, 31, 100, 1000 })
        {
            var key = new byte[16];
            random.Fill(key);
            var plaintext = new byte[16 * blocks];
            random.Fill(plaintext);
            var expected = Reference(key).EncryptEcb(plaintext, PaddingMode.None);

            using var aes = new Aes128Ecb(key, portable);
            var ciphertext = new byte[plaintext.Length];
            aes.Encrypt(plaintext, ciphertext);
            Assert.Equal(Hex.Of(expected), Hex.Of(ciphertext));

            aes.Encrypt(plaintext, plaintext); // in place
            Assert.Equal(Hex.Of(expected), Hex.Of(plaintext));
        }
    }

    [Fact]
    public void Aes128Ecb_EncryptBlock_MatchesEncrypt()
    {
        var random = new DeterministicTestRandom(2);
        var key = new byte[16];
        random.Fill(key);
        var block = new byte[16];
        random.Fill(block);
        var expected = Reference(key).EncryptEcb(block, PaddingMode.None);
        foreach (var portable in new[] { false, true })
        {
            using var aes = new Aes128Ecb(key, portable);
            Assert.Equal(Hex.Of(expected), Hex.Of(ToBytes(aes.EncryptBlock(Vector128.Create(block)))));
        }
    }

    [Fact]
    public void Aes128Ecb_ConcurrentCalls_AgreeWithOneThread()
    {
        var random = new DeterministicTestRandom(3);
        var key = new byte[16];
        random.Fill(key);
        var plaintext = new byte[16 * 4096];
        random.Fill(plaintext);
        var expected = Hex.Of(Reference(key).EncryptEcb(plaintext, PaddingMode.None));
        foreach (var portable in new[] { false, true })
        {
            using var aes = new Aes128Ecb(key, portable);
            var results = new string[16];
            Parallel.For(0, results.Length, i =>
            {
                var output = new byte[plaintext.Length];
                aes.Encrypt(plaintext, output);
                results[i] = Hex.Of(output);
            });
            Assert.All(results, r => Assert.Equal(expected, r));
        }
    }

    [Fact]
    public void Aes128Ecb_RefusesBadShapes_AndUseAfterDispose()
    {
        Assert.Throws<ArgumentException>(() => new Aes128Ecb(new byte[15]));
        Assert.Throws<ArgumentException>(() => new Aes128Ecb(new byte[32]));
        var aes = new Aes128Ecb(new byte[16]);
        Assert.Throws<ArgumentException>(() => aes.Encrypt(new byte[15], new byte[15]));
        Assert.Throws<ArgumentException>(() => aes.Encrypt(new byte[16], new byte[32]));
        aes.Dispose();
        Assert.Throws<ObjectDisposedException>(() => aes.Encrypt(new byte[16], new byte[16]));
        Assert.Throws<ObjectDisposedException>(() => aes.GenerateCounterStream(0, new byte[16]));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Prg_MatchesSlowReference(bool portable)
    {
        var random = new DeterministicTestRandom(4);
        foreach (var (first, blocks) in new[] { (0L, 1), (0L, 8), (0L, 13), (5L, 100), (255L, 2), ((1L << 32) - 3, 9), (long.MaxValue - 20, 20) })
        {
            var key = new byte[16];
            random.Fill(key);
            var expected = ReferencePrg(key, first, blocks);

            using var aes = new Aes128Ecb(key, portable);
            var viaKey = new byte[16 * blocks];
            AesCtrPrg.Generate(aes, first, viaKey);
            Assert.Equal(Hex.Of(expected), Hex.Of(viaKey));

            if (!portable)
            {
                var viaBytes = new byte[16 * blocks];
                AesCtrPrg.Generate(key, first, viaBytes);
                Assert.Equal(Hex.Of(expected), Hex.Of(viaBytes));
            }
        }
    }

    [Fact]
    public void Prg_ChunksConcatenate_ToOneStream()
    {
        var key = Hex.Bytes("000102030405060708090a0b0c0d0e0f");
        using var aes = new Aes128Ecb(key);
        var whole = new byte[16 * 40];
        AesCtrPrg.Generate(aes, 0, whole);
        var chunks = new byte[16 * 40];
        AesCtrPrg.Generate(aes, 0, chunks.AsSpan(0, 16 * 3));
        AesCtrPrg.Generate(aes, 3, chunks.AsSpan(16 * 3, 16 * 29));
        AesCtrPrg.Generate(aes, 32, chunks.AsSpan(16 * 32));
        Assert.Equal(Hex.Of(whole), Hex.Of(chunks));
        // Block 0 is AES_k(0^128): the FIPS 197 key on the zero block, computed independently.
        Assert.Equal(Hex.Of(Reference(key).EncryptEcb(new byte[16], PaddingMode.None)), Hex.Of(whole.AsSpan(0, 16)));
    }

    [Fact]
    public void Prg_GenerateColumns_IsOneStreamPerKey()
    {
        var random = new DeterministicTestRandom(5);
        var keys = new Aes128Ecb[7];
        var raw = new byte[7][];
        for (var j = 0; j < keys.Length; j++)
        {
            raw[j] = new byte[16];
            random.Fill(raw[j]);
            keys[j] = new Aes128Ecb(raw[j]);
        }

        const int blocks = 3;
        var columns = new byte[keys.Length * blocks * 16];
        AesCtrPrg.GenerateColumns(keys, 11, blocks, columns);
        for (var j = 0; j < keys.Length; j++)
            Assert.Equal(Hex.Of(ReferencePrg(raw[j], 11, blocks)), Hex.Of(columns.AsSpan(j * blocks * 16, blocks * 16)));
        foreach (var k in keys) k.Dispose();
    }

    [Fact]
    public void Prg_RefusesNegativeOrOverflowingCounters_AndPartialBlocks()
    {
        using var aes = new Aes128Ecb(new byte[16]);
        Assert.Throws<ArgumentOutOfRangeException>(() => AesCtrPrg.Generate(aes, -1, new byte[16]));
        Assert.Throws<ArgumentOutOfRangeException>(() => AesCtrPrg.Generate(aes, long.MaxValue - 1, new byte[32]));
        Assert.Throws<ArgumentException>(() => AesCtrPrg.Generate(aes, 0, new byte[17]));
    }

    private static System.Security.Cryptography.Aes Reference(byte[] key)
    {
        var aes = System.Security.Cryptography.Aes.Create();
        aes.Key = key;
        return aes;
    }

    // Block t = AES_k(LE128(t)), built block by block on .NET's Aes.
    private static byte[] ReferencePrg(byte[] key, long first, int blocks)
    {
        using var aes = Reference(key);
        var output = new byte[16 * blocks];
        for (var i = 0; i < blocks; i++)
        {
            var counter = new byte[16];
            var t = (System.Numerics.BigInteger)first + i;
            t.TryWriteBytes(counter, out _, isUnsigned: true, isBigEndian: false);
            aes.EncryptEcb(counter, PaddingMode.None).CopyTo(output, 16 * i);
        }

        return output;
    }

    private static byte[] ToBytes(Vector128<byte> v)
    {
        var bytes = new byte[16];
        v.CopyTo(bytes);
        return bytes;
    }
}
