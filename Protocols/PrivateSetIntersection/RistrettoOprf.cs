using System.Security.Cryptography;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// The RFC 9497 OPRF, ciphersuite ristretto255-SHA512, mode 0x00 (modeOPRF): HashToGroup, HashToScalar, DeriveKeyPair,
/// Blind, BlindEvaluate, Finalize and Evaluate exactly as the RFC defines them (docs/protocols/psi.md, "ECDH").
/// </summary>
public static class RistrettoOprf
{
    /// <summary>Size of a serialized element and of a serialized scalar (Ne = Ns = 32).</summary>
    public const int ElementBytes = Ristretto255.Size;

    /// <summary>Size of an OPRF output (Nh = 64, SHA-512).</summary>
    public const int OutputBytes = 64;

    /// <summary>Largest input: Finalize encodes its length in two bytes.</summary>
    public const int MaxInputBytes = ushort.MaxValue;

    /// <summary>contextString = "OPRFV1-" ‖ I2OSP(0x00, 1) ‖ "-" ‖ "ristretto255-SHA512".</summary>
    public static ReadOnlySpan<byte> ContextString => "OPRFV1-\0-ristretto255-SHA512"u8;

    private static readonly byte[] HashToGroupDst = [.. "HashToGroup-"u8, .. ContextString];
    private static readonly byte[] HashToScalarDst = [.. "HashToScalar-"u8, .. ContextString];
    private static readonly byte[] DeriveKeyPairDst = [.. "DeriveKeyPair"u8, .. ContextString];

    /// <summary>HashToGroup(input): hash_to_ristretto255 with DST "HashToGroup-" ‖ contextString; refuses the identity (InvalidInputError).</summary>
    public static void HashToGroup(ReadOnlySpan<byte> input, Span<byte> element)
    {
        CheckInput(input);
        Ristretto255.HashToGroup(input, HashToGroupDst, element);
        if (element.IndexOfAnyExcept((byte)0) < 0)
        {
            // Probability about 2^-252 for an honest input; the RFC still makes it an error rather than a silent identity.
            throw new InputRejectedException(ProtocolError.InvalidRecord, "input", "the record hashes to the identity element");
        }
    }

    /// <summary>HashToScalar(input, DST): expand_message_xmd to 64 bytes, little-endian, mod ℓ (DST defaults to "HashToScalar-" ‖ contextString).</summary>
    public static byte[] HashToScalar(ReadOnlySpan<byte> input, ReadOnlySpan<byte> dst = default)
    {
        Span<byte> uniform = stackalloc byte[64];
        ExpandMessageXmd.Expand(input, dst.IsEmpty ? HashToScalarDst : dst, uniform);
        var scalar = Ristretto255.ReduceWide(uniform);
        CryptographicOperations.ZeroMemory(uniform);
        return scalar;
    }

    /// <summary>DeriveKeyPair(seed, info): the RFC's deterministic key; returns skS (pkS = skS·G is <see cref="Ristretto255.MultiplyBase"/>).</summary>
    public static byte[] DeriveKeyPair(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> info)
    {
        if (info.Length > ushort.MaxValue)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "DeriveKeyPair: info is at most 65535 bytes");
        }

        // deriveInput = seed ‖ I2OSP(len(info), 2) ‖ info; skS = HashToScalar(deriveInput ‖ I2OSP(counter, 1), DST) until non-zero.
        var input = new byte[seed.Length + 2 + info.Length + 1];
        seed.CopyTo(input);
        input[seed.Length] = (byte)(info.Length >> 8);
        input[seed.Length + 1] = (byte)info.Length;
        info.CopyTo(input.AsSpan(seed.Length + 2));
        try
        {
            for (var counter = 0; counter <= 255; counter++)
            {
                input[^1] = (byte)counter;
                var sk = HashToScalar(input, DeriveKeyPairDst);
                if (sk.AsSpan().IndexOfAnyExcept((byte)0) >= 0)
                {
                    return sk;
                }
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(input);
        }

        throw new ProtocolException(ProtocolError.InvalidParameters, "DeriveKeyPairError");
    }

    /// <summary>Blind(input) with a given non-zero <paramref name="blind"/>: blindedElement = blind·HashToGroup(input).</summary>
    public static void Blind(ReadOnlySpan<byte> input, ReadOnlySpan<byte> blind, Span<byte> blindedElement)
    {
        Span<byte> point = stackalloc byte[ElementBytes];
        HashToGroup(input, point);
        Ristretto255.Multiply(blind, point, blindedElement);
    }

    /// <summary>BlindEvaluate(skS, blindedElement) = skS·blindedElement; refuses a non-canonical encoding or the identity (DeserializeElement).</summary>
    public static bool TryBlindEvaluate(ReadOnlySpan<byte> secretKey, ReadOnlySpan<byte> blindedElement, Span<byte> evaluatedElement) =>
        Ristretto255.IsValid(blindedElement) && Ristretto255.TryMultiply(secretKey, blindedElement, evaluatedElement);

    /// <summary>Finalize(input, blind, evaluatedElement) with the blind's inverse precomputed: Hash(len ‖ input ‖ len ‖ (blind⁻¹·Z) ‖ "Finalize").</summary>
    public static void FinalizeWithInverse(ReadOnlySpan<byte> input, ReadOnlySpan<byte> blindInverse, ReadOnlySpan<byte> evaluatedElement, Span<byte> output)
    {
        CheckInput(input);
        if (!Ristretto255.IsValid(evaluatedElement))
        {
            throw new CryptographicCheckException(ProtocolError.InvalidElement, "the evaluated element is not a canonical non-identity ristretto255 element");
        }

        Span<byte> unblinded = stackalloc byte[ElementBytes];
        Ristretto255.Multiply(blindInverse, evaluatedElement, unblinded);
        FinalHash(input, unblinded, output);
    }

    /// <summary>Finalize(input, blind, evaluatedElement) as RFC 9497 section 3.3.1 writes it.</summary>
    public static byte[] Finalize(ReadOnlySpan<byte> input, ReadOnlySpan<byte> blind, ReadOnlySpan<byte> evaluatedElement)
    {
        var inverse = Ristretto255.InvertScalar(blind);
        var output = new byte[OutputBytes];
        FinalizeWithInverse(input, inverse, evaluatedElement, output);
        CryptographicOperations.ZeroMemory(inverse);
        return output;
    }

    /// <summary>Evaluate(skS, input): the output the server computes for its own input, equal to the client's Finalize.</summary>
    public static void Evaluate(ReadOnlySpan<byte> secretKey, ReadOnlySpan<byte> input, Span<byte> output)
    {
        Span<byte> point = stackalloc byte[ElementBytes];
        Span<byte> issued = stackalloc byte[ElementBytes];
        HashToGroup(input, point);
        Ristretto255.Multiply(secretKey, point, issued);
        FinalHash(input, issued, output);
    }

    private static void FinalHash(ReadOnlySpan<byte> input, ReadOnlySpan<byte> element, Span<byte> output)
    {
        if (output.Length != OutputBytes)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "an OPRF output is 64 bytes");
        }

        // hashInput = I2OSP(len(input), 2) ‖ input ‖ I2OSP(len(element), 2) ‖ element ‖ "Finalize".
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        sha.AppendData([(byte)(input.Length >> 8), (byte)input.Length]);
        sha.AppendData(input);
        sha.AppendData([0, ElementBytes]);
        sha.AppendData(element);
        sha.AppendData("Finalize"u8);
        sha.GetHashAndReset(output);
    }

    private static void CheckInput(ReadOnlySpan<byte> input)
    {
        if (input.Length > MaxInputBytes)
        {
            throw new InputRejectedException(ProtocolError.InvalidRecord, "input", $"an encoded record of {input.Length} bytes is over the OPRF's limit of {MaxInputBytes}");
        }
    }
}
