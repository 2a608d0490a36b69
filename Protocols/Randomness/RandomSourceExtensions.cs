using System.Buffers.Binary;

namespace Smpc.Protocols.Randomness;

/// <summary>Uniform integers and shuffles drawn from an <see cref="IRandomSource"/>.</summary>
public static class RandomSourceExtensions
{
    /// <summary>Returns <paramref name="count"/> fresh random bytes.</summary>
    public static byte[] NextBytes(this IRandomSource random, int count)
    {
        ArgumentNullException.ThrowIfNull(random);
        var bytes = new byte[count];
        random.Fill(bytes);
        return bytes;
    }

    /// <summary>Returns a uniform integer in [0, <paramref name="exclusiveBound"/>) by masked rejection sampling.</summary>
    public static ulong NextUInt64Below(this IRandomSource random, ulong exclusiveBound)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfZero(exclusiveBound);
        if (exclusiveBound == 1)
        {
            return 0;
        }

        var mask = ulong.MaxValue >> System.Numerics.BitOperations.LeadingZeroCount(exclusiveBound - 1);
        Span<byte> buffer = stackalloc byte[8];
        while (true)
        {
            random.Fill(buffer);
            var candidate = BinaryPrimitives.ReadUInt64LittleEndian(buffer) & mask;
            if (candidate < exclusiveBound)
            {
                return candidate;
            }
        }
    }

    /// <summary>Shuffles <paramref name="items"/> in place with Fisher–Yates.</summary>
    public static void Shuffle<T>(this IRandomSource random, Span<T> items)
    {
        ArgumentNullException.ThrowIfNull(random);
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = (int)random.NextUInt64Below((ulong)i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
