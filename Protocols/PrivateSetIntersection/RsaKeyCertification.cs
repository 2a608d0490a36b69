using System.Buffers.Binary;
using System.Security.Cryptography;
using Org.BouncyCastle.Math;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// Certifies that a pod's RSA key (n, e) makes x ↦ x^e a permutation of Z_n^*: the key checks and the non-interactive
/// proof of Goldberg, Reyzin, Sagga and Baldimtsi (ASIACRYPT 2019), bound to one session (docs/protocols/psi.md, "Certified RSA keys").
/// </summary>
/// <remarks>
/// The pod sends σ_i = ρ_i^d mod n for <see cref="Rounds"/> challenges ρ_i hashed from (tenant, session, n, e, i). If
/// gcd(e, φ(n)) ≠ 1 for the prime e = 65537 then at most a 1/e fraction of Z_n^* are e-th powers, so a cheating pod
/// answers all challenges with probability at most e^-8 &lt; 2^-128. Pure: no I/O, no clock.
/// </remarks>
public static class RsaKeyCertification
{
    /// <summary>The only public exponent accepted: 65537 (prime, so any gcd(e, φ(n)) ≠ 1 equals e).</summary>
    public const int Exponent = 65537;

    /// <summary>m, the number of challenges: the least m with 65537^-m ≤ 2^-128.</summary>
    public const int Rounds = 8;

    /// <summary>α: n must have no prime factor below this bound (trial division by every prime p &lt; 65537).</summary>
    public const int SmallPrimeBound = 65537;

    /// <summary>The first byte of a proof: its format version.</summary>
    public const byte FormatVersion = 1;

    /// <summary>Candidates drawn per challenge before giving up (a valid n rejects one with probability below 1/2).</summary>
    public const int MaxAttempts = 256;

    private static readonly byte[] Domain = "smpc/psi/rsa/keycert/v1"u8.ToArray();
    private static readonly byte[] ExponentBytes = [0x01, 0x00, 0x01];
    private static readonly BigInteger E = BigInteger.ValueOf(Exponent);
    private static readonly Lazy<uint[]> OddSmallPrimes = new(Sieve);

    /// <summary>The byte length of a proof for a k-byte modulus: 1 (version) + 1 (m) + m·k.</summary>
    public static int ProofLength(int modulusBytes) => 2 + (Rounds * modulusBytes);

    /// <summary>True when <paramref name="proof"/> has the documented shape for a k-byte modulus (the service's check; it proves nothing).</summary>
    public static bool HasProofShape(ReadOnlySpan<byte> proof, int modulusBytes) =>
        proof.Length == ProofLength(modulusBytes) && proof[0] == FormatVersion && proof[1] == Rounds;

    /// <summary>The key checks, cheapest first: e = 65537 exactly, |n| = <paramref name="declaredBits"/>, n odd, no prime factor below α.</summary>
    public static void CheckKey(RsaPsiPublicKey key, int declaredBits)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!key.Exponent.AsSpan().SequenceEqual(ExponentBytes))
        {
            throw new RsaKeyRefusedException(RsaKeyRefusal.ExponentNot65537, $"the public exponent must be 65537 (bytes 01 00 01), got {Convert.ToHexString(key.Exponent)}");
        }

        var bits = BitLength(key.Modulus);
        if (declaredBits is < RsaPsiPublicKey.MinimumBits or > RsaPsiPublicKey.MaximumBits || bits != declaredBits || key.Modulus[0] == 0)
        {
            throw new RsaKeyRefusedException(RsaKeyRefusal.WrongModulusSize, $"the session declared a {declaredBits}-bit modulus, the key has {bits} bits in {key.Modulus.Length} bytes");
        }

        if ((key.Modulus[^1] & 1) == 0)
        {
            throw new RsaKeyRefusedException(RsaKeyRefusal.EvenModulus, "the modulus is even");
        }

        if (SmallestSmallFactor(key.Modulus) is { } p)
        {
            throw new RsaKeyRefusedException(RsaKeyRefusal.SmallFactor, $"the modulus is divisible by {p} (below the bound {SmallPrimeBound})");
        }
    }

    /// <summary>The challenges ρ_0..ρ_{m−1} for this key and session, each k bytes big-endian, in Z_n^*.</summary>
    public static byte[][] Challenges(RsaPsiPublicKey key, RsaKeyBinding binding)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(binding);
        var k = key.Modulus.Length;
        var n = new BigInteger(1, key.Modulus);
        var nForGcd = new System.Numerics.BigInteger(key.Modulus, isUnsigned: true, isBigEndian: true);
        var bits = BitLength(key.Modulus);
        var prefix = Prefix(key, binding);
        var input = new byte[prefix.Length + 12];
        prefix.CopyTo(input, 0);
        var expanded = new byte[(k + 31) / 32 * 32];
        var result = new byte[Rounds][];
        for (var i = 0; i < Rounds; i++)
        {
            for (var j = 0; ; j++)
            {
                if (j == MaxAttempts)
                {
                    throw new RsaKeyRefusedException(RsaKeyRefusal.ProofInvalid, $"no challenge {i} in Z_n^* after {MaxAttempts} candidates");
                }

                BinaryPrimitives.WriteUInt32BigEndian(input.AsSpan(prefix.Length), (uint)i);
                BinaryPrimitives.WriteUInt32BigEndian(input.AsSpan(prefix.Length + 4), (uint)j);
                for (var c = 0; c < expanded.Length / 32; c++)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(input.AsSpan(prefix.Length + 8), (uint)c);
                    SHA256.HashData(input, expanded.AsSpan(c * 32, 32));
                }

                var candidate = expanded.AsSpan(0, k).ToArray();
                candidate[0] &= (byte)(0xFF >> ((8 * k) - bits));
                // .NET's gcd (Lehmer) is several times faster than BouncyCastle's on 2048–4096-bit values.
                if (new BigInteger(1, candidate).CompareTo(n) < 0
                    && System.Numerics.BigInteger.GreatestCommonDivisor(new System.Numerics.BigInteger(candidate, isUnsigned: true, isBigEndian: true), nForGcd).IsOne)
                {
                    result[i] = candidate;
                    break;
                }
            }
        }

        return result;
    }

    /// <summary>
    /// The modeller's check: the key checks, then the proof's shape, then σ_i^e ≡ ρ_i (mod n) for every i. Returns the
    /// certified key, or throws <see cref="RsaKeyRefusedException"/> naming the first failed check.
    /// </summary>
    public static CertifiedRsaPsiKey Verify(RsaPsiPublicKey key, byte[]? proof, RsaKeyBinding binding, int declaredBits)
    {
        ArgumentNullException.ThrowIfNull(binding);
        CheckKey(key, declaredBits);
        if (proof is null || proof.Length == 0)
        {
            throw new RsaKeyRefusedException(RsaKeyRefusal.ProofMissing, "the pod sent no key-certification proof; its agent predates certified RSA keys and must be updated");
        }

        var k = key.Modulus.Length;
        if (!HasProofShape(proof, k))
        {
            throw new RsaKeyRefusedException(RsaKeyRefusal.ProofMalformed, $"a proof is version {FormatVersion}, m = {Rounds}, {ProofLength(k)} bytes; got {proof.Length} bytes");
        }

        var n = new BigInteger(1, key.Modulus);
        var challenges = Challenges(key, binding);
        for (var i = 0; i < Rounds; i++)
        {
            var sigma = new BigInteger(1, proof, 2 + (i * k), k);
            if (sigma.CompareTo(n) >= 0)
            {
                throw new RsaKeyRefusedException(RsaKeyRefusal.ProofMalformed, $"root {i} is not below n");
            }

            if (!sigma.ModPow(E, n).Equals(new BigInteger(1, challenges[i])))
            {
                throw new RsaKeyRefusedException(RsaKeyRefusal.ProofInvalid, $"root {i} does not verify: σ^e ≢ ρ (mod n) — a forged proof, a proof for another session, or a key that is not a permutation");
            }
        }

        key.Validate();
        return new CertifiedRsaPsiKey(key, binding);
    }

    /// <summary>The pod's side: σ_i = ρ_i^d mod n through <paramref name="eRoot"/> (the raw private operation), self-checked before it is published.</summary>
    internal static byte[] Prove(RsaPsiPublicKey key, RsaKeyBinding binding, int declaredBits, Action<byte[], byte[]> eRoot)
    {
        CheckKey(key, declaredBits);
        var k = key.Modulus.Length;
        var n = new BigInteger(1, key.Modulus);
        var challenges = Challenges(key, binding);
        var proof = new byte[ProofLength(k)];
        proof[0] = FormatVersion;
        proof[1] = Rounds;
        var sigma = new byte[k];
        for (var i = 0; i < Rounds; i++)
        {
            eRoot(challenges[i], sigma);
            if (!new BigInteger(1, sigma).ModPow(E, n).Equals(new BigInteger(1, challenges[i])))
            {
                // A faulty private operation must not be published (a wrong CRT result can reveal a factor of n).
                throw new CryptographicCheckException(ProtocolError.BadSignature, $"the private key's root {i} does not verify; the key is not a valid RSA key for e = 65537");
            }

            sigma.CopyTo(proof, 2 + (i * k));
        }

        return proof;
    }

    /// <summary>Bit length of a big-endian unsigned value.</summary>
    internal static int BitLength(byte[] value)
    {
        var first = Array.FindIndex(value, b => b != 0);
        return first < 0 ? 0 : ((value.Length - first - 1) * 8) + (32 - System.Numerics.BitOperations.LeadingZeroCount((uint)value[first]));
    }

    private static byte[] Prefix(RsaPsiPublicKey key, RsaKeyBinding binding)
    {
        using var stream = new MemoryStream();
        stream.Write(Domain);
        Span<byte> length = stackalloc byte[4];
        foreach (var field in new[] { System.Text.Encoding.UTF8.GetBytes(binding.Tenant), System.Text.Encoding.UTF8.GetBytes(binding.SessionId), key.Modulus, key.Exponent })
        {
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)field.Length);
            stream.Write(length);
            stream.Write(field);
        }

        return stream.ToArray();
    }

    /// <summary>The smallest odd prime below α dividing n (n read as 32-bit big-endian words), or null.</summary>
    private static uint? SmallestSmallFactor(byte[] modulus)
    {
        var padded = new byte[(modulus.Length + 3) / 4 * 4];
        modulus.CopyTo(padded, padded.Length - modulus.Length);
        var words = new uint[padded.Length / 4];
        for (var w = 0; w < words.Length; w++)
        {
            words[w] = BinaryPrimitives.ReadUInt32BigEndian(padded.AsSpan(w * 4));
        }

        foreach (var p in OddSmallPrimes.Value)
        {
            ulong r = 0;
            foreach (var word in words)
            {
                r = ((r << 32) | word) % p;
            }

            if (r == 0)
            {
                return p;
            }
        }

        return null;
    }

    private static uint[] Sieve()
    {
        var composite = new bool[SmallPrimeBound];
        var primes = new List<uint>();
        for (var i = 3; i < SmallPrimeBound; i += 2)
        {
            if (composite[i])
            {
                continue;
            }

            primes.Add((uint)i);
            for (long j = (long)i * i; j < SmallPrimeBound; j += 2L * i)
            {
                composite[j] = true;
            }
        }

        return [.. primes];
    }
}
