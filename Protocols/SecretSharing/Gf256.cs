namespace Smpc.Protocols.SecretSharing;

/// <summary>GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1; multiplication is branch- and table-free.</summary>
internal static class Gf256
{
    /// <summary>a · b in GF(2^8), constant time (no table lookups indexed by secrets).</summary>
    public static byte Multiply(byte a, byte b)
    {
        int p = 0, x = a, y = b;
        for (var i = 0; i < 8; i++)
        {
            p ^= x & -(y & 1);
            var carry = -((x >> 7) & 1);
            x = ((x << 1) ^ (0x1B & carry)) & 0xFF;
            y >>= 1;
        }

        return (byte)p;
    }

    /// <summary>a^-1 = a^254 (a ≠ 0); only ever applied to public share indices.</summary>
    public static byte Inverse(byte a)
    {
        if (a == 0)
        {
            throw new DivideByZeroException("0 has no inverse in GF(2^8)");
        }

        byte result = 1, b = a;
        var e = 254;
        while (e != 0)
        {
            if ((e & 1) != 0)
            {
                result = Multiply(result, b);
            }

            b = Multiply(b, b);
            e >>= 1;
        }

        return result;
    }
}
