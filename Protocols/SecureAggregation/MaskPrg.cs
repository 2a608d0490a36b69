using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Field;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>
/// The mask PRG: expands a 32-byte seed into a seekable stream of uniform elements of Z_q (AES-128-CTR).
/// </summary>
/// <remarks>
/// Specification (docs/protocols/secure-aggregation.md, "Mask PRG"):
/// 1. OKM = HKDF-SHA-256(IKM = seed, salt = "smpc/secagg/prg/v1", info = context, L = 48);
///    K = OKM[0..16), IV = OKM[16..32), K' = OKM[32..48).
/// 2. Keystream block b = AES-128_K(IV + b mod 2^128), counter as a big-endian 128-bit integer.
/// 3. Element i takes word w_i = LE64(keystream bytes [8i, 8i + 8)) AND m, where m = 2^⌈log2 q⌉ − 1
///    (for q = 2^61 − 1: the low 61 bits). If w_i &lt; q it is the element.
/// 4. Otherwise (probability 2^-61 for the default q) element i is the first r_{i,a} &lt; q for a = 0, 1, …
///    where r_{i,a} = LE64(AES-128_K'(LE64(i) ‖ LE64(a))[0..8)) AND m.
/// Element i depends on i alone, so any slice [o, o + len) can be generated independently and exactly.
/// Not thread-safe: one instance per thread.
/// </remarks>
public sealed class MaskPrg : IDisposable
{
    /// <summary>Elements generated per AES call; 32 KiB of keystream stays in the L1/L2 cache.</summary>
    public const int ChunkElements = 4096;

    private static readonly byte[] Salt = "smpc/secagg/prg/v1"u8.ToArray();

    private readonly PrimeField field;
    private readonly AesCtrKeystream main;
    private readonly AesCtrKeystream retry;
    private readonly byte[] scratchBytes = new byte[(ChunkElements + 2) * sizeof(ulong)];
    private readonly ulong[] scratchElements = new ulong[ChunkElements];

    /// <summary>Creates the PRG for a seed and a context (see <see cref="MaskContext"/>).</summary>
    public MaskPrg(PrimeField field, ReadOnlySpan<byte> seed, ReadOnlySpan<byte> context)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (seed.Length != 32)
        {
            throw new ArgumentException("mask seeds are 32 bytes", nameof(seed));
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("the mask PRG assumes a little-endian machine");
        }

        this.field = field;
        Span<byte> okm = stackalloc byte[48];
        Hkdf.DeriveKey(seed, Salt, context, okm);
        main = new AesCtrKeystream(okm[..16], okm[16..32]);
        Span<byte> zero = stackalloc byte[16];
        zero.Clear();
        retry = new AesCtrKeystream(okm[32..48], zero);
        CryptographicOperations.ZeroMemory(okm);
    }

    /// <summary>Writes elements [offset, offset + destination.Length) of the stream.</summary>
    public void Generate(long offset, Span<ulong> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        while (!destination.IsEmpty)
        {
            var count = Math.Min(destination.Length, ChunkElements);
            GenerateChunk(offset, destination[..count]);
            offset += count;
            destination = destination[count..];
        }
    }

    /// <summary>accumulator += elements [offset, offset + accumulator.Length) mod q.</summary>
    public void AddTo(long offset, Span<ulong> accumulator) => Apply(offset, accumulator, subtract: false);

    /// <summary>accumulator −= elements [offset, offset + accumulator.Length) mod q.</summary>
    public void SubtractFrom(long offset, Span<ulong> accumulator) => Apply(offset, accumulator, subtract: true);

    /// <inheritdoc />
    public void Dispose()
    {
        main.Dispose();
        retry.Dispose();
        CryptographicOperations.ZeroMemory(scratchBytes);
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(scratchElements.AsSpan()));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Apply(long offset, Span<ulong> accumulator, bool subtract)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        while (!accumulator.IsEmpty)
        {
            var count = Math.Min(accumulator.Length, ChunkElements);
            var masks = scratchElements.AsSpan(0, count);
            GenerateChunk(offset, masks);
            if (subtract)
            {
                field.SubtractInPlace(accumulator[..count], masks);
            }
            else
            {
                field.AddInPlace(accumulator[..count], masks);
            }

            offset += count;
            accumulator = accumulator[count..];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void GenerateChunk(long offset, Span<ulong> destination)
    {
        var skip = (int)(offset & 1);
        var words = skip + destination.Length;
        var blocks = (words + 1) / 2;
        var bytes = scratchBytes.AsSpan(0, blocks * AesCtrKeystream.BlockSize);
        main.Generate((ulong)offset >> 1, bytes);
        var source = MemoryMarshal.Cast<byte, ulong>(bytes).Slice(skip, destination.Length);

        var mask = field.SampleMask;
        var q = field.Modulus;
        var i = 0;
        var rejected = false;
        if (Vector256.IsHardwareAccelerated && destination.Length >= Vector256<ulong>.Count)
        {
            var vm = Vector256.Create(mask);
            var vq = Vector256.Create(q);
            var flags = Vector256<ulong>.Zero;
            var last = destination.Length - Vector256<ulong>.Count;
            for (; i <= last; i += Vector256<ulong>.Count)
            {
                var w = Vector256.Create(source.Slice(i, Vector256<ulong>.Count)) & vm;
                flags |= Vector256.GreaterThanOrEqual(w, vq);
                w.CopyTo(destination.Slice(i, Vector256<ulong>.Count));
            }

            rejected = flags != Vector256<ulong>.Zero;
        }

        for (; i < destination.Length; i++)
        {
            var w = source[i] & mask;
            rejected |= w >= q;
            destination[i] = w;
        }

        if (rejected)
        {
            // Rare path (never observed for q = 2^61 − 1): re-derive each rejected element from its own retry stream.
            for (var k = 0; k < destination.Length; k++)
            {
                if (destination[k] >= q)
                {
                    destination[k] = RetryElement(offset + k);
                }
            }
        }
    }

    private ulong RetryElement(long index)
    {
        Span<byte> block = stackalloc byte[16];
        Span<byte> output = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(block, (ulong)index);
        for (ulong attempt = 0; ; attempt++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(block[8..], attempt);
            retry.EncryptBlock(block, output);
            var r = BinaryPrimitives.ReadUInt64LittleEndian(output) & field.SampleMask;
            if (r < field.Modulus)
            {
                return r;
            }
        }
    }
}
