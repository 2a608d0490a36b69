using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Smpc.Protocols.Crypto;

/// <summary>
/// AES-128 in counter mode (NIST SP 800-38A) as a seekable keystream, on AES-NI through .NET's <see cref="Aes"/>.
/// </summary>
/// <remarks>
/// Block k of the keystream is AES-128_K(IV + k mod 2^128), the counter block read as a big-endian 128-bit
/// integer. Counter blocks are written into the output buffer and encrypted in place with ECB, which lets
/// the AES-NI pipeline run over many independent blocks. Not thread-safe: use one instance per thread.
/// </remarks>
public sealed class AesCtrKeystream : IDisposable
{
    /// <summary>AES block size in bytes.</summary>
    public const int BlockSize = 16;

    private readonly Aes aes;
    private readonly UInt128 initialCounter;

    /// <summary>Creates the keystream for a 16-byte key and 16-byte initial counter block.</summary>
    public AesCtrKeystream(ReadOnlySpan<byte> key, ReadOnlySpan<byte> initialCounterBlock)
    {
        if (key.Length != 16 || initialCounterBlock.Length != BlockSize)
        {
            throw new ArgumentException("AES-128-CTR takes a 16-byte key and a 16-byte counter block");
        }

        aes = Aes.Create();
        aes.SetKey(key);
        initialCounter = BinaryPrimitives.ReadUInt128BigEndian(initialCounterBlock);
    }

    /// <summary>Writes keystream blocks starting at block <paramref name="blockIndex"/>; length must be a multiple of 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Generate(ulong blockIndex, Span<byte> keystream)
    {
        if (keystream.Length % BlockSize != 0)
        {
            throw new ArgumentException("keystream length must be a multiple of 16 bytes", nameof(keystream));
        }

        var counter = initialCounter + blockIndex;
        var hi = (ulong)(counter >> 64);
        var lo = (ulong)counter;
        var blocks = keystream.Length / BlockSize;
        for (var k = 0; k < blocks; k++)
        {
            var block = keystream.Slice(k * BlockSize, BlockSize);
            BinaryPrimitives.WriteUInt64BigEndian(block, hi);
            BinaryPrimitives.WriteUInt64BigEndian(block[8..], lo);
            lo++;
            if (lo == 0)
            {
                hi++;
            }
        }

        aes.EncryptEcb(keystream, keystream, PaddingMode.None);
    }

    /// <summary>XORs the keystream from block <paramref name="blockIndex"/> into <paramref name="data"/> (encrypt = decrypt).</summary>
    public void Transform(ulong blockIndex, Span<byte> data)
    {
        var padded = new byte[(data.Length + BlockSize - 1) / BlockSize * BlockSize];
        Generate(blockIndex, padded);
        for (var i = 0; i < data.Length; i++)
        {
            data[i] ^= padded[i];
        }

        CryptographicOperations.ZeroMemory(padded);
    }

    /// <summary>Encrypts one raw block with the key (used by the mask PRG's retry stream).</summary>
    public void EncryptBlock(ReadOnlySpan<byte> block, Span<byte> destination) => aes.EncryptEcb(block, destination, PaddingMode.None);

    /// <inheritdoc />
    public void Dispose() => aes.Dispose();
}
