using System.Security.Cryptography;
using Smpc.Protocols.Randomness;
using Rfc7748 = Org.BouncyCastle.Math.EC.Rfc7748;

namespace Smpc.Protocols.Crypto;

/// <summary>An X25519 key pair (RFC 7748) for one session: sealing envelopes or agreeing pairwise mask seeds.</summary>
public sealed class X25519KeyPair : IDisposable
{
    /// <summary>Size of private keys, public keys and shared secrets in bytes.</summary>
    public const int KeySize = 32;

    // The seven u-coordinates (RFC 7748 encodings, bit 255 ignored) whose point has order 1, 2, 4 or 8 on the curve or
    // its twist: 0, 1, p − 1, the two order-8 points, and the non-canonical p and p + 1. X25519 masks bit 255, so each
    // also stands for the encoding with that bit set: 14 refused encodings in all.
    private static readonly byte[][] LowOrderEncodings =
    [
        Convert.FromHexString("0000000000000000000000000000000000000000000000000000000000000000"),
        Convert.FromHexString("0100000000000000000000000000000000000000000000000000000000000000"),
        Convert.FromHexString("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        Convert.FromHexString("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
        Convert.FromHexString("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
        Convert.FromHexString("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        Convert.FromHexString("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    ];

    private readonly byte[] privateKey;

    private X25519KeyPair(byte[] privateKey)
    {
        this.privateKey = privateKey;
        PublicKey = new byte[KeySize];
        Rfc7748.X25519.ScalarMultBase(privateKey, 0, PublicKey, 0);
    }

    /// <summary>The 32-byte public key (u-coordinate, little-endian).</summary>
    public byte[] PublicKey { get; }

    /// <summary>The clamped 32-byte private key; secret — handle with care (it is Shamir-shared for mask keys).</summary>
    public ReadOnlySpan<byte> PrivateKey => privateKey;

    /// <summary>Draws a fresh key pair from <paramref name="random"/>; the private key is stored clamped.</summary>
    public static X25519KeyPair Generate(IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var sk = new byte[KeySize];
        random.Fill(sk);
        Clamp(sk);
        return new X25519KeyPair(sk);
    }

    /// <summary>Rebuilds a key pair from a 32-byte private key (clamping it as RFC 7748 §5 does).</summary>
    public static X25519KeyPair FromPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != KeySize)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "an X25519 private key is 32 bytes");
        }

        var sk = privateKey.ToArray();
        Clamp(sk);
        return new X25519KeyPair(sk);
    }

    /// <summary>X25519(k, u) for raw inputs, as specified in RFC 7748 §5 (no zero check).</summary>
    public static byte[] ScalarMult(ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> u)
    {
        if (scalar.Length != KeySize || u.Length != KeySize)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "X25519 inputs are 32 bytes");
        }

        var r = new byte[KeySize];
        Rfc7748.X25519.ScalarMult(scalar.ToArray(), 0, u.ToArray(), 0, r, 0);
        return r;
    }

    /// <summary>True when <paramref name="publicKey"/> is one of the 14 encodings of a low-order point (bit 255 ignored).</summary>
    public static bool IsLowOrder(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != KeySize)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "an X25519 public key is 32 bytes");
        }

        foreach (var encoding in LowOrderEncodings)
        {
            if (publicKey[..31].SequenceEqual(encoding.AsSpan(0, 31)) && (publicKey[31] & 0x7f) == encoding[31])
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Refuses a peer's X25519 public key that is not 32 bytes (<see cref="ProtocolError.Malformed"/>) or is a low-order point
    /// (<see cref="ProtocolError.LowOrderPoint"/>, naming <paramref name="whose"/>): agreeing with such a key gives a shared
    /// secret an attacker knows without any private key.
    /// </summary>
    public static void CheckPeerKey(ReadOnlySpan<byte> publicKey, string whose)
    {
        if (IsLowOrder(publicKey))
        {
            throw new CryptographicCheckException(ProtocolError.LowOrderPoint, $"{whose} is a low-order X25519 point; refused");
        }
    }

    /// <summary>The shared secret with a peer; refuses low-order peer keys and an all-zero output (<see cref="ProtocolError.LowOrderPoint"/>).</summary>
    public byte[] Agree(ReadOnlySpan<byte> peerPublicKey)
    {
        CheckPeerKey(peerPublicKey, "the X25519 peer key");
        var shared = new byte[KeySize];
        if (!Rfc7748.X25519.CalculateAgreement(privateKey, 0, peerPublicKey.ToArray(), 0, shared, 0))
        {
            // Unreachable for the screened encodings; kept as the RFC 7748 §6.1 check in its own right.
            throw new CryptographicCheckException(ProtocolError.LowOrderPoint, "X25519 peer key is of low order (shared secret is zero)");
        }

        return shared;
    }

    /// <inheritdoc />
    public void Dispose() => CryptographicOperations.ZeroMemory(privateKey);

    private static void Clamp(Span<byte> k)
    {
        k[0] &= 248;
        k[31] &= 127;
        k[31] |= 64;
    }
}
