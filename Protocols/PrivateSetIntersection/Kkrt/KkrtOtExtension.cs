using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>
/// Rows of an OT-extension matrix whose column j is the AES-CTR stream of key j (<see cref="AesCtrPrg"/>), made tile by
/// tile on all cores: column bits are generated for whole 128-bin blocks and transposed (<see cref="BitMatrix.ColumnsToRows"/>).
/// </summary>
internal static class KkrtOtExtension
{
    /// <summary>Most bins per piece (a multiple of 128, so a piece starts on a PRG block).</summary>
    public const int TileBins = 2048;

    private const int KeyBytes = 16;

    /// <summary>
    /// Calls <paramref name="consume"/>(firstBin, count, rows) for consecutive pieces of bins [<paramref name="firstBin"/>,
    /// + <paramref name="count"/>), concurrently; each of the <paramref name="matrices"/> key sets (512 keys of 16 bytes, flat)
    /// gives its rows for the piece, in order, as one buffer of count × 64 bytes per matrix.
    /// </summary>
    public static void ForEachTile(byte[][] matrices, long firstBin, int count, Action<long, int, byte[][]> consume) =>
        ForEachTile(matrices, firstBin, count, consume, pool: null);

    /// <summary>
    /// As above, with the workers' column and row buffers taken from <paramref name="pool"/> and given back after each piece (so a
    /// party streaming many calls allocates them once; the owner wipes the pool), or made and wiped per call when it is null.
    /// </summary>
    public static void ForEachTile(byte[][] matrices, long firstBin, int count, Action<long, int, byte[][]> consume, TilePool? pool)
    {
        if (count <= 0)
        {
            return;
        }

        // Pieces start on a PRG block (128 bins); small calls are cut finer so that every core gets a piece.
        var alignedFirst = firstBin / 128 * 128;
        var span = firstBin + count - alignedFirst;
        var perCore = (span + (2L * Environment.ProcessorCount) - 1) / (2L * Environment.ProcessorCount);
        var pieceBins = (int)Math.Clamp((perCore + 127) / 128 * 128, 128, TileBins);
        var tiles = (int)((span + pieceBins - 1) / pieceBins);
        var local = pool ?? new TilePool();
        Parallel.For(0, tiles, t =>
        {
            var buffers = local.Rent(matrices.Length);
            try
            {
                Tile(matrices, firstBin, count, alignedFirst, pieceBins, t, buffers, consume);
            }
            finally
            {
                local.Return(buffers);
            }
        });
        if (pool is null)
        {
            local.Wipe();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile(byte[][] matrices, long firstBin, int count, long alignedFirst, int pieceBins, int t, TileBuffers buffers, Action<long, int, byte[][]> consume)
    {
        var tileStart = alignedFirst + ((long)t * pieceBins);
        var from = Math.Max(tileStart, firstBin);
        var to = Math.Min(tileStart + pieceBins, firstBin + count);

        // Only the PRG blocks (128 bins each) that hold [from, to).
        var blockFirst = from / 128 * 128;
        var width = (int)(((to + 127) / 128 * 128) - blockFirst);
        for (var x = 0; x < matrices.Length; x++)
        {
            for (var j = 0; j < KkrtParameters.CodeBits; j++)
            {
                AesCtrPrg.Generate(matrices[x].AsSpan(j * KeyBytes, KeyBytes), blockFirst / 128, buffers.Columns.AsSpan(j * (width / 8), width / 8));
            }

            BitMatrix.ColumnsToRows(buffers.Columns, width / 8, width, buffers.Rows[x]);
            if (from != blockFirst)
            {
                // Move the wanted rows to the front.
                buffers.Rows[x].AsSpan((int)(from - blockFirst) * KkrtParameters.RowBytes, (int)(to - from) * KkrtParameters.RowBytes).CopyTo(buffers.Rows[x]);
            }
        }

        consume(from, (int)(to - from), buffers.Rows);
    }

    /// <summary>Reusable per-worker tile buffers (PRG columns and rows: secret), wiped by <see cref="Wipe"/>.</summary>
    internal sealed class TilePool
    {
        private readonly ConcurrentBag<TileBuffers> free = [];

        /// <summary>Wipes and forgets every buffer in the pool.</summary>
        public void Wipe()
        {
            while (free.TryTake(out var buffers))
            {
                buffers.Wipe();
            }
        }

        internal TileBuffers Rent(int matrices)
        {
            while (free.TryTake(out var buffers))
            {
                if (buffers.Rows.Length == matrices)
                {
                    return buffers;
                }

                buffers.Wipe();
            }

            return new TileBuffers(matrices);
        }

        internal void Return(TileBuffers buffers) => free.Add(buffers);
    }

    internal sealed class TileBuffers
    {
        public TileBuffers(int matrices)
        {
            Columns = new byte[KkrtParameters.CodeBits * (TileBins / 8)];
            Rows = new byte[matrices][];
            for (var x = 0; x < matrices; x++)
            {
                Rows[x] = new byte[TileBins * KkrtParameters.RowBytes];
            }
        }

        public byte[] Columns { get; }

        public byte[][] Rows { get; }

        public void Wipe()
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(Columns);
            foreach (var rows in Rows)
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(rows);
            }
        }
    }
}
