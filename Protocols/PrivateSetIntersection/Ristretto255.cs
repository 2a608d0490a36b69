using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// The prime-order group ristretto255 from libsodium (P/Invoke): RFC 9380 hash-to-group, scalar multiplication, scalars.
/// </summary>
public static partial class Ristretto255
{
    /// <summary>Size of an encoded element and of a scalar.</summary>
    public const int Size = 32;

    private const string Sodium = "libsodium";
    private static readonly Lazy<bool> Initialised = new(() => sodium_init() >= 0);

    /// <summary>
    /// RFC 9380 appendix B hash_to_ristretto255: expand_message_xmd(SHA-512) of <paramref name="message"/> under
    /// <paramref name="dst"/> to 64 bytes, then the ristretto255 one-way map (libsodium's from_hash, constant time).
    /// </summary>
    public static unsafe void HashToGroup(ReadOnlySpan<byte> message, ReadOnlySpan<byte> dst, Span<byte> element)
    {
        EnsureInitialised();
        CheckSize(element);
        Span<byte> uniform = stackalloc byte[64];
        ExpandMessageXmd.Expand(message, dst, uniform);
        fixed (byte* d = uniform)
        fixed (byte* p = element)
        {
            _ = crypto_core_ristretto255_from_hash(p, d);
        }

        CryptographicOperations.ZeroMemory(uniform);
    }

    /// <summary>A 64-byte little-endian integer reduced mod ℓ (RFC 9497 HashToScalar's last step).</summary>
    public static unsafe byte[] ReduceWide(ReadOnlySpan<byte> wide)
    {
        EnsureInitialised();
        if (wide.Length != 64)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "a wide scalar is 64 bytes");
        }

        var scalar = new byte[Size];
        fixed (byte* w = wide)
        fixed (byte* s = scalar)
        {
            crypto_core_ristretto255_scalar_reduce(s, w);
        }

        return scalar;
    }

    /// <summary>n·G for the ristretto255 generator G; refuses the zero scalar (identity result).</summary>
    public static unsafe byte[] MultiplyBase(ReadOnlySpan<byte> scalar)
    {
        EnsureInitialised();
        CheckSize(scalar);
        var result = new byte[Size];
        fixed (byte* n = scalar)
        fixed (byte* q = result)
        {
            if (crypto_scalarmult_ristretto255_base(q, n) != 0)
            {
                throw new CryptographicCheckException(ProtocolError.InvalidElement, "the scalar is 0 mod ℓ");
            }
        }

        return result;
    }

    /// <summary>q = n·p; refuses invalid encodings and identity results with <see cref="ProtocolError.InvalidElement"/>.</summary>
    public static unsafe void Multiply(ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> point, Span<byte> result)
    {
        EnsureInitialised();
        if (!TryMultiply(scalar, point, result))
        {
            throw new CryptographicCheckException(ProtocolError.InvalidElement, "not a valid ristretto255 element (or the product is the identity)");
        }
    }

    /// <summary>q = n·p; false for invalid encodings or an identity result.</summary>
    public static unsafe bool TryMultiply(ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> point, Span<byte> result)
    {
        EnsureInitialised();
        if (scalar.Length != Size || point.Length != Size || result.Length != Size)
        {
            return false;
        }

        fixed (byte* n = scalar)
        fixed (byte* p = point)
        fixed (byte* q = result)
        {
            return crypto_scalarmult_ristretto255(q, n, p) == 0;
        }
    }

    /// <summary>r = p + q; false when either input is not a canonical encoding (the sum may be the identity, 32 zero bytes).</summary>
    public static unsafe bool TryAdd(ReadOnlySpan<byte> p, ReadOnlySpan<byte> q, Span<byte> result)
    {
        EnsureInitialised();
        if (p.Length != Size || q.Length != Size || result.Length != Size)
        {
            return false;
        }

        fixed (byte* a = p)
        fixed (byte* b = q)
        fixed (byte* r = result)
        {
            return crypto_core_ristretto255_add(r, a, b) == 0;
        }
    }

    /// <summary>r = p − q; false when either input is not a canonical encoding (the difference may be the identity, 32 zero bytes).</summary>
    public static unsafe bool TrySubtract(ReadOnlySpan<byte> p, ReadOnlySpan<byte> q, Span<byte> result)
    {
        EnsureInitialised();
        if (p.Length != Size || q.Length != Size || result.Length != Size)
        {
            return false;
        }

        fixed (byte* a = p)
        fixed (byte* b = q)
        fixed (byte* r = result)
        {
            return crypto_core_ristretto255_sub(r, a, b) == 0;
        }
    }

    /// <summary>A uniform non-zero scalar from 64 bytes of <paramref name="random"/> reduced mod ℓ.</summary>
    public static unsafe byte[] RandomScalar(IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(random);
        EnsureInitialised();
        var wide = new byte[64];
        var scalar = new byte[Size];
        do
        {
            random.Fill(wide);
            fixed (byte* w = wide)
            fixed (byte* s = scalar)
            {
                crypto_core_ristretto255_scalar_reduce(s, w);
            }
        }
        while (scalar.AsSpan().IndexOfAnyExcept((byte)0) < 0);

        CryptographicOperations.ZeroMemory(wide);
        return scalar;
    }

    /// <summary>s^-1 mod ℓ.</summary>
    public static unsafe byte[] InvertScalar(ReadOnlySpan<byte> scalar)
    {
        EnsureInitialised();
        CheckSize(scalar);
        var inverse = new byte[Size];
        fixed (byte* s = scalar)
        fixed (byte* r = inverse)
        {
            if (crypto_core_ristretto255_scalar_invert(r, s) != 0)
            {
                throw new CryptographicCheckException(ProtocolError.InvalidElement, "scalar 0 has no inverse");
            }
        }

        return inverse;
    }

    /// <summary>True when <paramref name="element"/> is a canonical encoding of a non-identity group element.</summary>
    public static unsafe bool IsValid(ReadOnlySpan<byte> element)
    {
        EnsureInitialised();
        // The identity encodes as 32 zero bytes (the only encoding libsodium accepts for it).
        if (element.Length != Size || element.IndexOfAnyExcept((byte)0) < 0)
        {
            return false;
        }

        fixed (byte* p = element)
        {
            return crypto_core_ristretto255_is_valid_point(p) == 1;
        }
    }

    private static void EnsureInitialised()
    {
        bool ok;
        try
        {
            ok = Initialised.Value;
        }
        catch (DllNotFoundException ex)
        {
            throw new ProtocolException(ProtocolError.NativeLibraryUnavailable, "libsodium is not available", ex);
        }

        if (!ok)
        {
            throw new ProtocolException(ProtocolError.NativeLibraryUnavailable, "sodium_init failed");
        }
    }

    private static void CheckSize(ReadOnlySpan<byte> value)
    {
        if (value.Length != Size)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "ristretto255 elements and scalars are 32 bytes");
        }
    }

    [LibraryImport(Sodium)]
    private static partial int sodium_init();

    [LibraryImport(Sodium)]
    private static unsafe partial int crypto_core_ristretto255_from_hash(byte* p, byte* r);

    [LibraryImport(Sodium)]
    private static unsafe partial int crypto_scalarmult_ristretto255(byte* q, byte* n, byte* p);

    [LibraryImport(Sodium)]
    private static unsafe partial int crypto_scalarmult_ristretto255_base(byte* q, byte* n);

    [LibraryImport(Sodium)]
    private static unsafe partial void crypto_core_ristretto255_scalar_reduce(byte* r, byte* s);

    [LibraryImport(Sodium)]
    private static unsafe partial int crypto_core_ristretto255_scalar_invert(byte* recip, byte* s);

    [LibraryImport(Sodium)]
    private static unsafe partial int crypto_core_ristretto255_is_valid_point(byte* p);

    [LibraryImport(Sodium)]
    private static unsafe partial int crypto_core_ristretto255_add(byte* r, byte* p, byte* q);

    [LibraryImport(Sodium)]
    private static unsafe partial int crypto_core_ristretto255_sub(byte* r, byte* p, byte* q);
}
