using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Smpc.Protocols.Tests.PrivateSetIntersection.Kkrt;

/// <summary>Slow, obvious recomputations of kkrt-v1 from the spec text, with .NET's AES and SHA-256 directly (independent of the kernels).</summary>
internal static class KkrtNaive
{
    public static byte[] Aes(byte[] key, byte[] block)
    {
        using var aes = System.Security.Cryptography.Aes.Create();
        aes.Key = key;
        return aes.EncryptEcb(block, PaddingMode.None);
    }

    /// <summary>Bit <paramref name="bit"/> of PRG(key): stream block t = AES_key(LE128(t)), bits LSB first.</summary>
    public static int PrgBit(byte[] key, long bit)
    {
        var counter = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(counter, bit / 128);
        var block = Aes(key, counter);
        var inBlock = (int)(bit % 128);
        return (block[inBlock >> 3] >> (inBlock & 7)) & 1;
    }

    /// <summary>Row b of the matrix whose column j is PRG(keys[j]) (keys flat, 16 bytes each).</summary>
    public static byte[] Row(byte[] keys, long bin)
    {
        var row = new byte[64];
        for (var j = 0; j < 512; j++)
        {
            if (PrgBit(keys.AsSpan(j * 16, 16).ToArray(), bin) == 1)
            {
                row[j >> 3] |= (byte)(1 << (j & 7));
            }
        }

        return row;
    }

    /// <summary>All <paramref name="bins"/> rows (64 bytes each) of the matrix whose column j is PRG(keys[j]), one AES stream per column.</summary>
    public static byte[] Matrix(byte[] keys, long bins)
    {
        var blocks = (int)((bins + 127) / 128);
        var counters = new byte[blocks * 16];
        for (var t = 0; t < blocks; t++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(counters.AsSpan(t * 16), t);
        }

        var rows = new byte[bins * 64];
        for (var j = 0; j < 512; j++)
        {
            var column = Aes(keys.AsSpan(j * 16, 16).ToArray(), counters);
            for (var b = 0; b < bins; b++)
            {
                if (((column[b >> 3] >> (int)(b & 7)) & 1) == 1)
                {
                    rows[(b * 64) + (j >> 3)] |= (byte)(1 << (j & 7));
                }
            }
        }

        return rows;
    }

    /// <summary>h_i(d) = high 64 bits of LE64(AES_hk(d ⊕ σ_i)[0..8)) · m.</summary>
    public static long Position(byte[] hashKey, ReadOnlySpan<byte> digest, int i, long bins)
    {
        var block = digest.ToArray();
        block[0] ^= (byte)i;
        var x = new System.Numerics.BigInteger(Aes(hashKey, block).AsSpan(0, 8), isUnsigned: true, isBigEndian: false);
        return (long)((x * bins) >> 64);
    }

    public static byte[] Code(byte[] codeKey, ReadOnlySpan<byte> digest, int i)
    {
        var code = new byte[64];
        for (var j = 0; j < 4; j++)
        {
            var block = digest.ToArray();
            block[0] ^= (byte)((4 * i) + j);
            Aes(codeKey, block).CopyTo(code, j * 16);
        }

        return code;
    }

    public static byte[] Tag(long bin, byte[] row, int tagBytes)
    {
        var be = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(be, (uint)bin);
        return SHA256.HashData([.. "smpc/psi/kkrt/v1/tag"u8, .. be, .. row])[..tagBytes];
    }

    public static byte[] Xor(byte[] a, byte[] b) => a.Zip(b, (x, y) => (byte)(x ^ y)).ToArray();

    public static byte[] And(byte[] a, byte[] b) => a.Zip(b, (x, y) => (byte)(x & y)).ToArray();
}
