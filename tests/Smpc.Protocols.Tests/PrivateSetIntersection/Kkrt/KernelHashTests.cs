using System.Numerics;
using System.Security.Cryptography;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Protocols.Tests.PrivateSetIntersection.Kkrt;

/// <summary>The per-item kernels of kkrt-v1 (cuckoo positions, code words, tags, row algebra) recomputed from the spec's text with .NET's Aes and SHA-256.</summary>
public sealed class KernelHashTests
{
    [Fact]
    public void CuckooPositions_AreTheHighWordOfAesTimesBins()
    {
        var random = new DeterministicTestRandom(10);
        var key = new byte[16];
        random.Fill(key);
        using var aes = new Aes128Ecb(key);
        using var reference = Reference(key);
        foreach (var bins in new long[] { 1, 257, 1_500_256, 75_000_256, long.MaxValue })
        {
            var digest = new byte[16];
            random.Fill(digest);
            var positions = new long[3];
            KkrtKernels.CuckooPositions(aes, digest, bins, positions);
            for (var i = 0; i < 3; i++)
            {
                var block = (byte[])digest.Clone();
                block[0] ^= (byte)i;
                var x = BitConverter.ToUInt64(reference.EncryptEcb(block, PaddingMode.None), 0);
                var expected = (long)((new BigInteger(x) * bins) >> 64);
                Assert.Equal(expected, positions[i]);
                Assert.InRange(positions[i], 0, bins - 1);
            }
        }
    }

    [Fact]
    public void Code_IsFourAesBlocksOfTweakedDigests()
    {
        var random = new DeterministicTestRandom(11);
        var key = new byte[16];
        random.Fill(key);
        var digest = new byte[16];
        random.Fill(digest);
        using var aes = new Aes128Ecb(key);
        using var reference = Reference(key);
        var all = new byte[192];
        KkrtKernels.Codes(aes, digest, all);
        for (var i = 0; i < 3; i++)
        {
            var expected = new byte[64];
            for (var j = 0; j < 4; j++)
            {
                var block = (byte[])digest.Clone();
                block[0] ^= (byte)(4 * i + j);
                reference.EncryptEcb(block, PaddingMode.None).CopyTo(expected, 16 * j);
            }

            var code = new byte[64];
            KkrtKernels.Code(aes, digest, i, code);
            Assert.Equal(Hex.Of(expected), Hex.Of(code));
            Assert.Equal(Hex.Of(expected), Hex.Of(all.AsSpan(64 * i, 64)));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => KkrtKernels.Code(aes, digest, 3, new byte[64]));
    }

    [Fact]
    public void Tag_IsTruncatedSha256OfLabelBinAndRow()
    {
        var random = new DeterministicTestRandom(12);
        var rows = new byte[5 * 64];
        random.Fill(rows);
        const long firstBin = 0x01020304 - 2;
        const int tagBytes = 14;
        var tags = new byte[5 * tagBytes];
        KkrtKernels.Tags(firstBin, rows, tagBytes, tags);
        for (var k = 0; k < 5; k++)
        {
            var bin = firstBin + k;
            var input = "smpc/psi/kkrt/v1/tag"u8.ToArray()
                .Concat(new[] { (byte)(bin >> 24), (byte)(bin >> 16), (byte)(bin >> 8), (byte)bin })
                .Concat(rows.Skip(64 * k).Take(64)).ToArray();
            var expected = SHA256.HashData(input).AsSpan(0, tagBytes).ToArray();
            Assert.Equal(Hex.Of(expected), Hex.Of(tags.AsSpan(k * tagBytes, tagBytes)));

            var single = new byte[tagBytes];
            KkrtKernels.Tag(bin, rows.AsSpan(64 * k, 64), single);
            Assert.Equal(Hex.Of(expected), Hex.Of(single));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => KkrtKernels.Tag(1L << 32, new byte[64], new byte[8]));
        Assert.Throws<ArgumentException>(() => KkrtKernels.Tags(0, new byte[64], 8, new byte[9]));
    }

    [Theory]
    [InlineData(1, 16)]
    [InlineData(8, 9)]
    [InlineData(9, 32)]
    [InlineData(61, 12)]
    [InlineData(1000, 1)]
    public void Tags_EightLaneAndOneShotPaths_MatchSha256(int count, int tagBytes)
    {
        var random = new DeterministicTestRandom(count * 100 + tagBytes);
        var rows = new byte[count * 64];
        random.Fill(rows);
        var bins = new uint[count];
        for (var k = 0; k < count; k++) bins[k] = (uint)random.NextInt(0, int.MaxValue) * 2 + (uint)(k & 1);
        var expectedScattered = new byte[count * tagBytes];
        var expectedConsecutive = new byte[count * tagBytes];
        const long firstBin = uint.MaxValue - 1000;
        for (var k = 0; k < count; k++)
        {
            Reference(bins[k], rows.AsSpan(64 * k, 64)).AsSpan(0, tagBytes).CopyTo(expectedScattered.AsSpan(k * tagBytes));
            Reference(firstBin + k, rows.AsSpan(64 * k, 64)).AsSpan(0, tagBytes).CopyTo(expectedConsecutive.AsSpan(k * tagBytes));
        }

        var scattered = new byte[count * tagBytes];
        KkrtKernels.Tags(bins, rows, tagBytes, scattered);
        Assert.Equal(Hex.Of(expectedScattered), Hex.Of(scattered));
        var consecutive = new byte[count * tagBytes];
        KkrtKernels.Tags(firstBin, rows, tagBytes, consecutive);
        Assert.Equal(Hex.Of(expectedConsecutive), Hex.Of(consecutive));

        static byte[] Reference(long bin, ReadOnlySpan<byte> row)
        {
            var input = new byte[88];
            "smpc/psi/kkrt/v1/tag"u8.CopyTo(input);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(input.AsSpan(20), (uint)bin);
            row.CopyTo(input.AsSpan(24));
            return SHA256.HashData(input);
        }
    }

    [Fact]
    public void Tags_RefuseMismatchedShapes()
    {
        Assert.Throws<ArgumentException>(() => KkrtKernels.Tags(new uint[2], new byte[64], 8, new byte[8]));
        Assert.Throws<ArgumentException>(() => KkrtKernels.Tags(new uint[1], new byte[63], 8, new byte[8]));
        Assert.Throws<ArgumentException>(() => KkrtKernels.Tags(new uint[1], new byte[64], 33, new byte[33]));
        Assert.Throws<ArgumentOutOfRangeException>(() => KkrtKernels.Tags(uint.MaxValue, new byte[128], 8, new byte[16]));
        Assert.Throws<ArgumentOutOfRangeException>(() => KkrtKernels.Tags(long.MaxValue, new byte[128], 8, new byte[16]));
        Assert.Throws<ArgumentOutOfRangeException>(() => KkrtKernels.Tags(-1, new byte[64], 8, new byte[8]));
    }

    [Fact]
    public void RowAlgebra_MatchesBytewise()
    {
        var random = new DeterministicTestRandom(13);
        var q = new byte[64];
        var c = new byte[64];
        var s = new byte[64];
        random.Fill(q);
        random.Fill(c);
        random.Fill(s);
        var masked = new byte[64];
        KkrtKernels.XorMasked(q, c, s, masked);
        Assert.Equal(Hex.Of(q.Select((x, i) => (byte)(x ^ (c[i] & s[i]))).ToArray()), Hex.Of(masked));

        foreach (var n in new[] { 0, 1, 31, 32, 64, 100 })
        {
            var a = new byte[n];
            var b = new byte[n];
            random.Fill(a);
            random.Fill(b);
            var x = new byte[n];
            KkrtKernels.Xor(a, b, x);
            Assert.Equal(Hex.Of(a.Select((v, i) => (byte)(v ^ b[i])).ToArray()), Hex.Of(x));
        }
    }

    private static System.Security.Cryptography.Aes Reference(byte[] key)
    {
        var aes = System.Security.Cryptography.Aes.Create();
        aes.Key = key;
        return aes;
    }
}
