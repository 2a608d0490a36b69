using System.Buffers.Binary;
using System.Security.Cryptography;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.Tests;

/// <summary>TESTS ONLY: a reproducible byte stream SHA-256(seed ‖ counter); never use outside tests.</summary>
public sealed class DeterministicTestRandom(int seed) : IRandomSource
{
    private readonly byte[] block = new byte[32];
    private ulong counter;
    private int used = 32;

    public void Fill(Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[12];
        for (var i = 0; i < destination.Length; i++)
        {
            if (used == 32)
            {
                BinaryPrimitives.WriteInt32LittleEndian(input, seed);
                BinaryPrimitives.WriteUInt64LittleEndian(input[4..], counter++);
                SHA256.HashData(input, block);
                used = 0;
            }

            destination[i] = block[used++];
        }
    }

    public int NextInt(int minInclusive, int maxExclusive) => minInclusive + (int)this.NextUInt64Below((ulong)(maxExclusive - minInclusive));

    public double NextDouble(double min, double max) => min + ((max - min) * (this.NextUInt64Below(1UL << 53) / (double)(1UL << 53)));
}
