using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>
/// The modeller's cuckoo table: each distinct item in one of its bins h_i (i ∈ {0, 1, 2}), at most one item per bin, no
/// stash. Random-walk insertion; when an insertion needs more than <see cref="MaxEvictions"/> evictions the hash key is
/// redrawn and the whole table rebuilt, so a failure never affects correctness.
/// </summary>
internal sealed class KkrtCuckooTable
{
    /// <summary>Evictions allowed for one insertion before the key is redrawn.</summary>
    public const int MaxEvictions = 1000;

    /// <summary>Keys tried before giving up (each fails with probability ≤ 2^-40 at the protocol's sizes).</summary>
    public const int MaxKeys = 64;

    private KkrtCuckooTable(byte[] hashKey, int[] binItem, int[] itemBin, byte[] itemFunction, int redraws)
    {
        HashKey = hashKey;
        BinItem = binItem;
        ItemBin = itemBin;
        ItemFunction = itemFunction;
        Redraws = redraws;
    }

    /// <summary>The cuckoo key hk (16 bytes).</summary>
    public byte[] HashKey { get; }

    /// <summary>For each bin, the index of the item in it, or −1.</summary>
    public int[] BinItem { get; }

    /// <summary>For each item, its bin.</summary>
    public int[] ItemBin { get; }

    /// <summary>For each item, the hash function i that placed it (bin = h_i(item)).</summary>
    public byte[] ItemFunction { get; }

    /// <summary>Keys drawn again because an insertion failed.</summary>
    public int Redraws { get; }

    /// <summary>
    /// Places <paramref name="digests"/> (16 bytes each) into <paramref name="bins"/> bins. Randomness, in order: 16 bytes of
    /// walk key (the AES-CTR stream that picks evictions), then 16 bytes of hash key per attempt.
    /// </summary>
    public static KkrtCuckooTable Build(ReadOnlyMemory<byte> digests, int bins, IRandomSource random, int maxEvictions = MaxEvictions, int maxKeys = MaxKeys)
    {
        var count = digests.Length / KkrtItems.DigestBytes;
        if (count > bins)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, $"{count} items cannot fit {bins} bins");
        }

        var walk = new WalkStream(random.NextBytes(16));
        var positions = new int[count * KkrtParameters.HashFunctions];
        for (var attempt = 0; attempt < maxKeys; attempt++)
        {
            var hashKey = random.NextBytes(16);
            HashAll(hashKey, digests, bins, positions);
            var binItem = new int[bins];
            Array.Fill(binItem, -1);
            var itemFunction = new byte[count];
            if (TryInsertAll(positions, binItem, itemFunction, walk, maxEvictions))
            {
                var itemBin = new int[count];
                for (var k = 0; k < count; k++)
                {
                    itemBin[k] = positions[(k * KkrtParameters.HashFunctions) + itemFunction[k]];
                }

                return new KkrtCuckooTable(hashKey, binItem, itemBin, itemFunction, attempt);
            }
        }

        throw new ProtocolException(ProtocolError.InvalidParameters, $"{count} items did not fit {bins} cuckoo bins under {maxKeys} keys");
    }

    private static void HashAll(byte[] hashKey, ReadOnlyMemory<byte> digests, int bins, int[] positions)
    {
        var count = digests.Length / KkrtItems.DigestBytes;
        const int Chunk = 8192;
        var chunks = (count + Chunk - 1) / Chunk;
        Parallel.For(0, chunks, () => new Aes128Ecb(hashKey), (c, _, aes) =>
        {
            var start = c * Chunk;
            var take = Math.Min(Chunk, count - start);
            KkrtPrimitives.Positions(aes, digests.Span.Slice(start * KkrtItems.DigestBytes, take * KkrtItems.DigestBytes), bins, positions.AsSpan(start * KkrtParameters.HashFunctions, take * KkrtParameters.HashFunctions));
            return aes;
        }, aes => aes.Dispose());
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryInsertAll(int[] positions, int[] binItem, byte[] itemFunction, WalkStream walk, int maxEvictions)
    {
        const int H = KkrtParameters.HashFunctions;
        for (var item = 0; item < itemFunction.Length; item++)
        {
            var current = item;
            var cameFrom = -1;
            var placed = false;
            for (var step = 0; step <= maxEvictions && !placed; step++)
            {
                for (var i = 0; i < H; i++)
                {
                    var bin = positions[(current * H) + i];
                    if (binItem[bin] < 0)
                    {
                        binItem[bin] = current;
                        itemFunction[current] = (byte)i;
                        placed = true;
                        break;
                    }
                }

                if (placed || step == maxEvictions)
                {
                    break;
                }

                // Evict the occupant of a random candidate other than the bin the current item was just evicted from.
                var elsewhere = positions[current * H] != cameFrom || positions[(current * H) + 1] != cameFrom || positions[(current * H) + 2] != cameFrom;
                int choice;
                do
                {
                    choice = walk.Next3();
                }
                while (elsewhere && positions[(current * H) + choice] == cameFrom);

                var target = positions[(current * H) + choice];
                var evicted = binItem[target];
                binItem[target] = current;
                itemFunction[current] = (byte)choice;
                cameFrom = target;
                current = evicted;
            }

            if (!placed)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Uniform choices among 3 from an AES-CTR stream (not secret: the placement is hidden from the pod by the OT).</summary>
    private sealed class WalkStream(byte[] key)
    {
        private readonly byte[] buffer = new byte[4096];
        private long block;
        private int used = 4096;

        public int Next3()
        {
            while (true)
            {
                if (used == buffer.Length)
                {
                    AesCtrPrg.Generate(key, block, buffer);
                    block += buffer.Length / 16;
                    used = 0;
                }

                var b = buffer[used++];
                if (b < 255)
                {
                    return b % 3;
                }
            }
        }
    }
}
