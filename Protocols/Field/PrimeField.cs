using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Smpc.Protocols.Field;

/// <summary>
/// The prime field Z_q with q &lt; 2^63, elements held canonically in [0, q) as <see cref="ulong"/>.
/// </summary>
/// <remarks>
/// Vector operations reduce without branches: for a, b in [0, q),
/// <c>a + b mod q = min(s, s − q)</c> with s = a + b (unsigned: if s &lt; q then s − q wraps above s),
/// and <c>a − b mod q = min(d, d + q)</c> with d = a − b (if a &lt; b then d wraps high and d + q wraps low).
/// Because q &lt; 2^63 no sum overflows. A scalar reference (<see cref="AddReference"/>) computes the same
/// thing through 128-bit arithmetic for the tests.
/// </remarks>
public sealed class PrimeField : IEquatable<PrimeField>
{
    /// <summary>The Mersenne prime 2^61 − 1, the default modulus.</summary>
    public const ulong Mersenne61 = (1UL << 61) - 1;

    private PrimeField(ulong modulus)
    {
        Modulus = modulus;
        BitLength = 64 - BitOperations.LeadingZeroCount(modulus - 1);
        SampleMask = BitLength == 64 ? ulong.MaxValue : (1UL << BitLength) - 1;
    }

    /// <summary>The default field, q = 2^61 − 1.</summary>
    public static PrimeField Default { get; } = new(Mersenne61);

    /// <summary>The modulus q.</summary>
    public ulong Modulus { get; }

    /// <summary>Bits needed to write q − 1; the width of <see cref="SampleMask"/>.</summary>
    public int BitLength { get; }

    /// <summary>The smallest all-ones mask covering [0, q): used for rejection sampling.</summary>
    public ulong SampleMask { get; }

    /// <summary>The largest value whose encoding is treated as non-negative: (q − 1) / 2.</summary>
    public ulong MaxSigned => (Modulus - 1) / 2;

    /// <summary>Creates the field Z_q; q must be a prime in [3, 2^63).</summary>
    public static PrimeField Create(ulong modulus)
    {
        if (modulus < 3 || modulus >= 1UL << 63 || !IsPrime(modulus))
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, $"field modulus {modulus} must be a prime in [3, 2^63)");
        }

        return modulus == Mersenne61 ? Default : new PrimeField(modulus);
    }

    /// <summary>a + b mod q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Add(ulong a, ulong b)
    {
        var s = a + b;
        return Math.Min(s, s - Modulus);
    }

    /// <summary>a − b mod q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Subtract(ulong a, ulong b)
    {
        var d = a - b;
        return Math.Min(d, d + Modulus);
    }

    /// <summary>−a mod q.</summary>
    public ulong Negate(ulong a) => Subtract(0, a);

    /// <summary>a · b mod q.</summary>
    public ulong Multiply(ulong a, ulong b) => (ulong)((UInt128)a * b % Modulus);

    /// <summary>Maps a signed integer with |v| ≤ (q − 1)/2 to its field element.</summary>
    public ulong FromSigned(long value)
    {
        if (value >= 0)
        {
            return (ulong)value % Modulus;
        }

        // -(value + 1) + 1 avoids overflow at long.MinValue.
        var magnitude = ((ulong)(-(value + 1)) + 1) % Modulus;
        return magnitude == 0 ? 0 : Modulus - magnitude;
    }

    /// <summary>Centred lift: elements above (q − 1)/2 stand for negative numbers.</summary>
    public long ToSigned(ulong element) => element <= MaxSigned ? (long)element : -(long)(Modulus - element);

    /// <summary>True when every element of <paramref name="values"/> is canonical (&lt; q).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool AreCanonical(ReadOnlySpan<ulong> values)
    {
        foreach (var v in values)
        {
            if (v >= Modulus)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>accumulator[i] = accumulator[i] + values[i] mod q, vectorised.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddInPlace(Span<ulong> accumulator, ReadOnlySpan<ulong> values)
    {
        if (accumulator.Length != values.Length)
        {
            throw new ArgumentException("spans must have equal length", nameof(values));
        }

        var i = 0;
        if (Vector256.IsHardwareAccelerated && accumulator.Length >= Vector256<ulong>.Count)
        {
            var q = Vector256.Create(Modulus);
            ref var acc = ref MemoryMarshal.GetReference(accumulator);
            ref var val = ref MemoryMarshal.GetReference(values);
            var last = accumulator.Length - Vector256<ulong>.Count;
            for (; i <= last; i += Vector256<ulong>.Count)
            {
                var s = Vector256.LoadUnsafe(ref acc, (nuint)i) + Vector256.LoadUnsafe(ref val, (nuint)i);
                Vector256.Min(s, s - q).StoreUnsafe(ref acc, (nuint)i);
            }
        }

        for (; i < accumulator.Length; i++)
        {
            accumulator[i] = Add(accumulator[i], values[i]);
        }
    }

    /// <summary>accumulator[i] = accumulator[i] − values[i] mod q, vectorised.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void SubtractInPlace(Span<ulong> accumulator, ReadOnlySpan<ulong> values)
    {
        if (accumulator.Length != values.Length)
        {
            throw new ArgumentException("spans must have equal length", nameof(values));
        }

        var i = 0;
        if (Vector256.IsHardwareAccelerated && accumulator.Length >= Vector256<ulong>.Count)
        {
            var q = Vector256.Create(Modulus);
            ref var acc = ref MemoryMarshal.GetReference(accumulator);
            ref var val = ref MemoryMarshal.GetReference(values);
            var last = accumulator.Length - Vector256<ulong>.Count;
            for (; i <= last; i += Vector256<ulong>.Count)
            {
                var d = Vector256.LoadUnsafe(ref acc, (nuint)i) - Vector256.LoadUnsafe(ref val, (nuint)i);
                Vector256.Min(d, d + q).StoreUnsafe(ref acc, (nuint)i);
            }
        }

        for (; i < accumulator.Length; i++)
        {
            accumulator[i] = Subtract(accumulator[i], values[i]);
        }
    }

    /// <summary>Scalar reference for <see cref="AddInPlace"/> through 128-bit arithmetic (tests only).</summary>
    public void AddReference(Span<ulong> accumulator, ReadOnlySpan<ulong> values)
    {
        for (var i = 0; i < accumulator.Length; i++)
        {
            accumulator[i] = (ulong)(((UInt128)accumulator[i] + values[i]) % Modulus);
        }
    }

    /// <summary>Scalar reference for <see cref="SubtractInPlace"/> through 128-bit arithmetic (tests only).</summary>
    public void SubtractReference(Span<ulong> accumulator, ReadOnlySpan<ulong> values)
    {
        for (var i = 0; i < accumulator.Length; i++)
        {
            accumulator[i] = (ulong)(((UInt128)accumulator[i] + Modulus - values[i]) % Modulus);
        }
    }

    /// <inheritdoc />
    public bool Equals(PrimeField? other) => other is not null && other.Modulus == Modulus;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as PrimeField);

    /// <inheritdoc />
    public override int GetHashCode() => Modulus.GetHashCode();

    /// <inheritdoc />
    public override string ToString() => Modulus == Mersenne61 ? "Z_(2^61-1)" : $"Z_{Modulus}";

    private static bool IsPrime(ulong n)
    {
        // Deterministic Miller–Rabin for 64-bit integers with the first twelve prime bases.
        ReadOnlySpan<ulong> bases = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
        foreach (var p in bases)
        {
            if (n % p == 0)
            {
                return n == p;
            }
        }

        var d = n - 1;
        var r = BitOperations.TrailingZeroCount(d);
        d >>= r;
        foreach (var a in bases)
        {
            var x = PowMod(a, d, n);
            if (x == 1 || x == n - 1)
            {
                continue;
            }

            var composite = true;
            for (var i = 1; i < r; i++)
            {
                x = (ulong)((UInt128)x * x % n);
                if (x == n - 1)
                {
                    composite = false;
                    break;
                }
            }

            if (composite)
            {
                return false;
            }
        }

        return true;
    }

    private static ulong PowMod(ulong b, ulong e, ulong m)
    {
        ulong result = 1;
        b %= m;
        while (e != 0)
        {
            if ((e & 1) != 0)
            {
                result = (ulong)((UInt128)result * b % m);
            }

            b = (ulong)((UInt128)b * b % m);
            e >>= 1;
        }

        return result;
    }
}
