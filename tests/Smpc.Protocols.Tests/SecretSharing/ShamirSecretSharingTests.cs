using Smpc.Protocols.SecretSharing;

namespace Smpc.Protocols.Tests.SecretSharing;

public sealed class ShamirSecretSharingTests
{
    [Fact]
    public void AnyThresholdSubset_ReconstructsTheSecret()
    {
        var random = new DeterministicTestRandom(11);
        var secret = new byte[32];
        random.Fill(secret);
        var indices = Enumerable.Range(1, 6).ToArray();
        var shares = ShamirSecretSharing.Split(secret, 4, indices, random);

        // All 15 subsets of size 4 out of 6.
        for (var mask = 0; mask < 64; mask++)
        {
            if (System.Numerics.BitOperations.PopCount((uint)mask) == 4)
            {
                var subset = shares.Where((_, i) => (mask & (1 << i)) != 0).ToArray();
                Assert.Equal(secret, ShamirSecretSharing.Combine(subset, 4));
            }
        }
    }

    [Fact]
    public void AllShares_Reconstruct_AndATamperedExtraShareIsDetected()
    {
        var random = new DeterministicTestRandom(12);
        var secret = random.NextBytes(32);
        var shares = ShamirSecretSharing.Split(secret, 3, [3, 9, 200, 17, 4], random);
        Assert.Equal(secret, ShamirSecretSharing.Combine(shares, 3));
        shares[4].Value[7] ^= 0x40;
        var ex = Assert.Throws<CryptographicCheckException>(() => ShamirSecretSharing.Combine(shares, 3));
        Assert.Equal(ProtocolError.InconsistentShares, ex.Error);
    }

    [Fact]
    public void FewerThanThresholdShares_AreRefused()
    {
        var random = new DeterministicTestRandom(13);
        var shares = ShamirSecretSharing.Split(random.NextBytes(32), 3, [1, 2, 3], random);
        var ex = Assert.Throws<ProtocolException>(() => ShamirSecretSharing.Combine(shares[..2], 3));
        Assert.Equal(ProtocolError.InsufficientShares, ex.Error);
    }

    [Fact]
    public void DuplicateIndices_AreRefused()
    {
        var random = new DeterministicTestRandom(14);
        var shares = ShamirSecretSharing.Split(random.NextBytes(32), 2, [1, 2], random);
        var ex = Assert.Throws<MessageRejectedException>(() => ShamirSecretSharing.Combine([shares[0], shares[0] with { }], 2));
        Assert.Equal(ProtocolError.Duplicate, ex.Error);
    }

    [Fact]
    public void ThresholdMinusOneShares_AreUniform_WhateverTheSecret()
    {
        // With t = 3, the pair (share_1[0], share_2[0]) must be uniform on 256 × 256 for any secret.
        // We bin the pair into 256 cells (high nibbles) and run a chi-square test for two opposite secrets.
        var random = new DeterministicTestRandom(15);
        foreach (var secretByte in new byte[] { 0x00, 0xFF })
        {
            var secret = Enumerable.Repeat(secretByte, 32).ToArray();
            var counts = new int[256];
            const int Trials = 25_600;
            for (var trial = 0; trial < Trials; trial++)
            {
                var shares = ShamirSecretSharing.Split(secret, 3, [1, 2, 3, 4], random);
                counts[(shares[0].Value[0] & 0xF0) | (shares[1].Value[0] >> 4)]++;
            }

            const double Expected = Trials / 256.0;
            var chiSquare = counts.Sum(c => (c - Expected) * (c - Expected) / Expected);

            // 255 degrees of freedom: mean 255, sd ≈ 22.6; 400 is beyond 6 sd.
            Assert.InRange(chiSquare, 120, 400);
        }
    }
}
