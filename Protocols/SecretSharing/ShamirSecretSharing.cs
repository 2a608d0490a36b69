using System.Security.Cryptography;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.SecretSharing;

/// <summary>
/// Shamir t-of-n secret sharing of byte strings (32-byte seeds and keys), bytewise over GF(2^8).
/// </summary>
/// <remarks>
/// 1. For each byte position k of the secret s, draw a polynomial f_k(x) = s_k + a_{k,1} x + … + a_{k,t−1} x^{t−1}
///    with uniform coefficients in GF(2^8).
/// 2. The share of the party with index i ∈ [1, 255] is (i, f_1(i) ‖ … ‖ f_L(i)).
/// 3. Any t shares give s_k = Σ_j y_{j,k} · Π_{m≠j} x_m / (x_m ⊕ x_j) (Lagrange at 0; subtraction is XOR).
/// 4. t − 1 shares are uniform and independent of s (every candidate secret has exactly one consistent
///    polynomial). Extra shares beyond t are checked against the interpolated polynomial.
/// Multiplications touching secret bytes are table-free and branch-free; only public indices are inverted.
/// </remarks>
public static class ShamirSecretSharing
{
    /// <summary>Splits <paramref name="secret"/> into one share per index in <paramref name="indices"/>.</summary>
    public static ShamirShare[] Split(ReadOnlySpan<byte> secret, int threshold, IReadOnlyList<int> indices, IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(random);
        if (threshold < 1 || threshold > indices.Count)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, $"threshold {threshold} must be in [1, {indices.Count}]");
        }

        CheckIndices(indices.Select(i => i));
        var length = secret.Length;
        var coefficients = new byte[(threshold - 1) * length];
        random.Fill(coefficients);
        try
        {
            var shares = new ShamirShare[indices.Count];
            for (var s = 0; s < indices.Count; s++)
            {
                var x = (byte)indices[s];
                var value = new byte[length];
                for (var k = 0; k < length; k++)
                {
                    // Horner: f(x) = (((a_{t−1}) x + a_{t−2}) x + …) x + s.
                    byte y = 0;
                    for (var c = threshold - 2; c >= 0; c--)
                    {
                        y = (byte)(Gf256.Multiply(y, x) ^ coefficients[(c * length) + k]);
                    }

                    value[k] = (byte)(Gf256.Multiply(y, x) ^ secret[k]);
                }

                shares[s] = new ShamirShare(x, value);
            }

            return shares;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(coefficients);
        }
    }

    /// <summary>Reconstructs the secret from at least <paramref name="threshold"/> shares; refuses inconsistent extras.</summary>
    public static byte[] Combine(IReadOnlyList<ShamirShare> shares, int threshold)
    {
        ArgumentNullException.ThrowIfNull(shares);
        if (threshold < 1)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "threshold must be at least 1");
        }

        if (shares.Count < threshold)
        {
            throw new ProtocolException(ProtocolError.InsufficientShares, $"{shares.Count} shares supplied, {threshold} needed");
        }

        CheckIndices(shares.Select(s => (int)s.Index));
        var length = shares[0].Value.Length;
        if (shares.Any(s => s.Value.Length != length))
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "shares have different lengths");
        }

        var basis = shares.Take(threshold).ToArray();
        var secret = Interpolate(basis, 0, length);

        // Every share beyond the first t must lie on the same polynomials.
        foreach (var extra in shares.Skip(threshold))
        {
            var expected = Interpolate(basis, extra.Index, length);
            var consistent = CryptographicOperations.FixedTimeEquals(expected, extra.Value);
            CryptographicOperations.ZeroMemory(expected);
            if (!consistent)
            {
                CryptographicOperations.ZeroMemory(secret);
                throw new CryptographicCheckException(ProtocolError.InconsistentShares, $"share with index {extra.Index} is inconsistent with the others");
            }
        }

        return secret;
    }

    private static byte[] Interpolate(ShamirShare[] basis, byte at, int length)
    {
        var result = new byte[length];
        for (var j = 0; j < basis.Length; j++)
        {
            // L_j(at) = Π_{m≠j} (at ⊕ x_m) / (x_j ⊕ x_m), computed on public indices only.
            byte numerator = 1, denominator = 1;
            for (var m = 0; m < basis.Length; m++)
            {
                if (m != j)
                {
                    numerator = Gf256.Multiply(numerator, (byte)(at ^ basis[m].Index));
                    denominator = Gf256.Multiply(denominator, (byte)(basis[j].Index ^ basis[m].Index));
                }
            }

            var lagrange = Gf256.Multiply(numerator, Gf256.Inverse(denominator));
            var y = basis[j].Value;
            for (var k = 0; k < length; k++)
            {
                result[k] ^= Gf256.Multiply(lagrange, y[k]);
            }
        }

        return result;
    }

    private static void CheckIndices(IEnumerable<int> indices)
    {
        var seen = new HashSet<int>();
        foreach (var i in indices)
        {
            if (i < 1 || i > 255)
            {
                throw new MessageRejectedException(ProtocolError.Malformed, $"share index {i} is outside [1, 255]");
            }

            if (!seen.Add(i))
            {
                throw new MessageRejectedException(ProtocolError.Duplicate, $"share index {i} appears twice");
            }
        }
    }
}
