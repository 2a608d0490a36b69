using System.Security.Cryptography;
using Smpc.Protocols.Randomness;
using Rfc7748 = Org.BouncyCastle.Math.EC.Rfc7748;

namespace Smpc.Protocols.Crypto;

/// <summary>An X25519 key pair (RFC 7748) for one session: sealing envelopes or agreeing pairwise mask seeds.</summary>
public sealed class X25519KeyPair : IDisposable
{
    /// <summary>Size of private keys, public keys and shared secrets in bytes.</summary>
    public const int KeySize = 32;

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

    /// <summary>The shared secret with a peer; refuses low-order peer keys (all-zero output).</summary>
    public byte[] Agree(ReadOnlySpan<byte> peerPublicKey)
    {
        if (peerPublicKey.Length != KeySize)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "an X25519 public key is 32 bytes");
        }

        var shared = new byte[KeySize];
        if (!Rfc7748.X25519.CalculateAgreement(privateKey, 0, peerPublicKey.ToArray(), 0, shared, 0))
        {
            throw new CryptographicCheckException(ProtocolError.InvalidElement, "X25519 peer key is of low order (shared secret is zero)");
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
