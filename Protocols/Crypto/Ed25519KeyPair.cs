using System.Security.Cryptography;
using Smpc.Protocols.Randomness;
using Rfc8032 = Org.BouncyCastle.Math.EC.Rfc8032;

namespace Smpc.Protocols.Crypto;

/// <summary>A long-term Ed25519 identity key (RFC 8032) that signs a party's per-session key bundles.</summary>
public sealed class Ed25519KeyPair : IDisposable
{
    /// <summary>Size of the private seed and of the public key.</summary>
    public const int KeySize = 32;

    /// <summary>Size of a signature.</summary>
    public const int SignatureSize = 64;

    private readonly byte[] seed;

    private Ed25519KeyPair(byte[] seed)
    {
        this.seed = seed;
        PublicKey = new byte[KeySize];
        Rfc8032.Ed25519.GeneratePublicKey(seed, 0, PublicKey, 0);
    }

    /// <summary>The 32-byte public key.</summary>
    public byte[] PublicKey { get; }

    /// <summary>The public key's fingerprint, for pinning by peers.</summary>
    public string Fingerprint => KeyFingerprint.Compute(PublicKey);

    /// <summary>Creates a fresh identity from <paramref name="random"/>.</summary>
    public static Ed25519KeyPair Generate(IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return new Ed25519KeyPair(random.NextBytes(KeySize));
    }

    /// <summary>Rebuilds an identity from its 32-byte private seed.</summary>
    public static Ed25519KeyPair FromPrivateKey(ReadOnlySpan<byte> privateSeed)
    {
        if (privateSeed.Length != KeySize)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, "an Ed25519 private key is 32 bytes");
        }

        return new Ed25519KeyPair(privateSeed.ToArray());
    }

    /// <summary>Verifies an Ed25519 signature; false for any malformed input.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != KeySize || signature.Length != SignatureSize)
        {
            return false;
        }

        var m = message.ToArray();
        return Rfc8032.Ed25519.Verify(signature.ToArray(), 0, publicKey.ToArray(), 0, m, 0, m.Length);
    }

    /// <summary>Signs <paramref name="message"/> (pure Ed25519, no context).</summary>
    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        var m = message.ToArray();
        var signature = new byte[SignatureSize];
        Rfc8032.Ed25519.Sign(seed, 0, m, 0, m.Length, signature, 0);
        return signature;
    }

    /// <summary>Exports the private seed (for the agent's local key store).</summary>
    public byte[] ExportPrivateKey() => (byte[])seed.Clone();

    /// <inheritdoc />
    public void Dispose() => CryptographicOperations.ZeroMemory(seed);
}
