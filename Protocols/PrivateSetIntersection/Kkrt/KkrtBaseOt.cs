using System.Security.Cryptography;

namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>
/// One Masny–Rindal endemic OT (semi-honest, receiver first) on ristretto255, the j-th of the 512 base OTs of kkrt-v1.
/// </summary>
/// <remarks>
/// Receiver (the pod, choice s): a random element R_{1−s}, R_s = a·G − G_j(R_{1−s}). Sender (the modeller): B = b·G,
/// k^c = KDF(j, c, b·(R_c + G_j(R_{1−c}))). Receiver: k^s = KDF(j, s, a·B), since R_s + G_j(R_{1−s}) = a·G.
/// </remarks>
internal static class KkrtBaseOt
{
    /// <summary>
    /// The receiver's message for OT <paramref name="j"/> with choice <paramref name="choice"/>, scalar <paramref name="a"/> and
    /// random element seed <paramref name="seed"/> (32 bytes); false (draw again) in the negligible case that an element is the identity.
    /// </summary>
    public static bool ReceiverMessage(int j, int choice, ReadOnlySpan<byte> a, ReadOnlySpan<byte> seed, Span<byte> r0, Span<byte> r1)
    {
        Span<byte> other = stackalloc byte[Ristretto255.Size];
        Span<byte> hashed = stackalloc byte[Ristretto255.Size];
        Span<byte> mine = stackalloc byte[Ristretto255.Size];
        KkrtPrimitives.OtRandomElement(seed, other);
        if (!Ristretto255.IsValid(other))
        {
            return false;
        }

        KkrtPrimitives.OtHash(j, other, hashed);
        byte[] aG;
        try
        {
            aG = Ristretto255.MultiplyBase(a);
        }
        catch (CryptographicCheckException)
        {
            return false;
        }

        if (!Ristretto255.TrySubtract(aG, hashed, mine) || !Ristretto255.IsValid(mine))
        {
            return false;
        }

        (choice == 0 ? mine : other).CopyTo(r0);
        (choice == 0 ? other : mine).CopyTo(r1);
        return true;
    }

    /// <summary>
    /// The sender's side of OT <paramref name="j"/>: B = b·G and both keys; refuses (InvalidElement) an R that is not a
    /// canonical non-identity element or a shared point equal to the identity.
    /// </summary>
    public static void Sender(int j, ReadOnlySpan<byte> r0, ReadOnlySpan<byte> r1, ReadOnlySpan<byte> b, Span<byte> bPoint, Span<byte> key0, Span<byte> key1)
    {
        if (!Ristretto255.IsValid(r0) || !Ristretto255.IsValid(r1))
        {
            throw new CryptographicCheckException(ProtocolError.InvalidElement, $"base OT {j}: R is not a canonical non-identity ristretto255 element");
        }

        Ristretto255.MultiplyBase(b).CopyTo(bPoint);
        Span<byte> hashed = stackalloc byte[Ristretto255.Size];
        Span<byte> sum = stackalloc byte[Ristretto255.Size];
        Span<byte> shared = stackalloc byte[Ristretto255.Size];
        try
        {
            for (var c = 0; c < 2; c++)
            {
                KkrtPrimitives.OtHash(j, c == 0 ? r1 : r0, hashed);
                if (!Ristretto255.TryAdd(c == 0 ? r0 : r1, hashed, sum) || !Ristretto255.TryMultiply(b, sum, shared))
                {
                    throw new CryptographicCheckException(ProtocolError.InvalidElement, $"base OT {j}: the shared point is the identity");
                }

                KkrtPrimitives.OtKey(j, c, r0, r1, bPoint, shared, c == 0 ? key0 : key1);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
        }
    }

    /// <summary>The receiver's key k^s = KDF(j, s, a·B); refuses (InvalidElement) a B that is not canonical non-identity.</summary>
    public static void ReceiverKey(int j, int choice, ReadOnlySpan<byte> a, ReadOnlySpan<byte> r0, ReadOnlySpan<byte> r1, ReadOnlySpan<byte> bPoint, Span<byte> key)
    {
        Span<byte> shared = stackalloc byte[Ristretto255.Size];
        if (!Ristretto255.IsValid(bPoint) || !Ristretto255.TryMultiply(a, bPoint, shared))
        {
            throw new CryptographicCheckException(ProtocolError.InvalidElement, $"base OT {j}: B is not a canonical non-identity ristretto255 element");
        }

        KkrtPrimitives.OtKey(j, choice, r0, r1, bPoint, shared, key);
        CryptographicOperations.ZeroMemory(shared);
    }
}
