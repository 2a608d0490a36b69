using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using X86Aes = System.Runtime.Intrinsics.X86.Aes;
using X86Sse2 = System.Runtime.Intrinsics.X86.Sse2;

namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>
/// Fixed-key AES-128 (FIPS 197) over 16-byte blocks (ECB): AES-NI with the key schedule expanded once (<c>AESKEYGENASSIST</c>)
/// and eight blocks in flight per round, or .NET's <see cref="System.Security.Cryptography.Aes"/> (OpenSSL) where AES-NI is absent.
/// The key schedule is read-only after construction, so concurrent <see cref="Encrypt"/> calls are safe.
/// </summary>
/// <remarks>.NET 10 exposes no VAES (<c>Aes.V256</c>), so the AES-NI path is 128-bit; Zen 4 still retires two <c>AESENC</c> per cycle.</remarks>
public sealed class Aes128Ecb : IDisposable
{
    private const int Rounds = 10;

    // 11 round keys (AES-NI path) or null (portable path).
    private readonly Vector128<byte>[]? roundKeys;
    private readonly System.Security.Cryptography.Aes? portable;
    private bool disposed;

    /// <summary>An AES-128 permutation under <paramref name="key"/> (16 bytes).</summary>
    public Aes128Ecb(ReadOnlySpan<byte> key)
        : this(key, forcePortable: false)
    {
    }

    /// <summary>Test hook: <paramref name="forcePortable"/> takes the .NET <c>Aes</c> path even where AES-NI exists.</summary>
    internal Aes128Ecb(ReadOnlySpan<byte> key, bool forcePortable)
    {
        if (key.Length != 16) throw new ArgumentException("AES-128 takes a 16-byte key.", nameof(key));
        if (X86Aes.IsSupported && !forcePortable)
        {
            roundKeys = new Vector128<byte>[Rounds + 1];
            ExpandKey(Vector128.Create(key), roundKeys);
        }
        else
        {
            portable = System.Security.Cryptography.Aes.Create();
            portable.Key = key.ToArray();
        }
    }

    /// <summary>True when this instance encrypts with AES-NI, false on the portable (.NET <c>Aes</c>) path.</summary>
    public bool IsHardwareAccelerated => roundKeys is not null;

    /// <summary>Encrypts each 16-byte block of <paramref name="source"/> into <paramref name="destination"/> (same length, a multiple of 16; may be the same memory).</summary>
    public void Encrypt(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (source.Length % 16 != 0 || destination.Length != source.Length) throw new ArgumentException("Whole blocks, same length.");
        ObjectDisposedException.ThrowIf(disposed, this);
        if (roundKeys is null)
        {
            // One-shot ECB on a shared instance: serialised, since .NET does not document it as thread-safe.
            lock (portable!) portable.EncryptEcb(source, destination, PaddingMode.None);
            return;
        }

        EncryptBlocks(roundKeys, ref MemoryMarshal.GetReference(source), ref MemoryMarshal.GetReference(destination), source.Length / 16);
    }

    /// <summary>Encrypts one block held in a vector.</summary>
    public Vector128<byte> EncryptBlock(Vector128<byte> block)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (roundKeys is null)
        {
            Span<byte> buffer = stackalloc byte[16];
            block.CopyTo(buffer);
            lock (portable!) portable.EncryptEcb(buffer, buffer, PaddingMode.None);
            return Vector128.Create<byte>(buffer);
        }

        var k = roundKeys;
        var b = block ^ k[0];
        for (var r = 1; r < Rounds; r++) b = X86Aes.Encrypt(b, k[r]);
        return X86Aes.EncryptLast(b, k[Rounds]);
    }

    /// <summary>
    /// Writes the AES-128-CTR stream of the spec (block t = AES(LE128(t))) for blocks <paramref name="firstBlock"/>, … into
    /// <paramref name="destination"/> (a multiple of 16 bytes). <paramref name="firstBlock"/> is non-negative; no allocation.
    /// </summary>
    public void GenerateCounterStream(long firstBlock, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstBlock);
        if (destination.Length % 16 != 0) throw new ArgumentException("Whole blocks.", nameof(destination));
        var blocks = destination.Length / 16;
        if (firstBlock > long.MaxValue - blocks) throw new ArgumentOutOfRangeException(nameof(firstBlock), "The counter would overflow.");
        ObjectDisposedException.ThrowIf(disposed, this);
        if (roundKeys is null)
        {
            for (var i = 0; i < blocks; i++)
            {
                var block = destination.Slice(i * 16, 16);
                block.Clear();
                System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(block, firstBlock + i);
            }

            lock (portable!) portable.EncryptEcb(destination, destination, PaddingMode.None);
            return;
        }

        CounterBlocks(ref MemoryMarshal.GetArrayDataReference(roundKeys), firstBlock, ref MemoryMarshal.GetReference(destination), blocks);
    }

    /// <summary>
    /// <see cref="GenerateCounterStream(long, Span{byte})"/> under a raw key without an instance: on the AES-NI path the key
    /// schedule lives on the stack and is wiped after use, so nothing is allocated.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GenerateCounterStream(ReadOnlySpan<byte> key, long firstBlock, Span<byte> destination)
    {
        if (key.Length != 16) throw new ArgumentException("AES-128 takes a 16-byte key.", nameof(key));
        if (!X86Aes.IsSupported)
        {
            using var aes = new Aes128Ecb(key);
            aes.GenerateCounterStream(firstBlock, destination);
            return;
        }

        ArgumentOutOfRangeException.ThrowIfNegative(firstBlock);
        if (destination.Length % 16 != 0) throw new ArgumentException("Whole blocks.", nameof(destination));
        var blocks = destination.Length / 16;
        if (firstBlock > long.MaxValue - blocks) throw new ArgumentOutOfRangeException(nameof(firstBlock), "The counter would overflow.");
        var schedule = default(Schedule);
        ExpandKey(Vector128.Create(key), schedule);
        CounterBlocks(ref schedule[0], firstBlock, ref MemoryMarshal.GetReference(destination), blocks);
        ((Span<Vector128<byte>>)schedule).Clear();
    }

    /// <summary>Forgets the key schedule; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (roundKeys is not null) Array.Clear(roundKeys);
        portable?.Dispose();
    }

    // FIPS 197 §5.2 with AESKEYGENASSIST: w[i..i+3] = prefix-XOR of the previous round key, XOR SubWord(RotWord(w[i−1])) ⊕ Rcon.
    private static void ExpandKey(Vector128<byte> key, Span<Vector128<byte>> k)
    {
        k[0] = key;
        k[1] = key = Next(key, X86Aes.KeygenAssist(key, 0x01));
        k[2] = key = Next(key, X86Aes.KeygenAssist(key, 0x02));
        k[3] = key = Next(key, X86Aes.KeygenAssist(key, 0x04));
        k[4] = key = Next(key, X86Aes.KeygenAssist(key, 0x08));
        k[5] = key = Next(key, X86Aes.KeygenAssist(key, 0x10));
        k[6] = key = Next(key, X86Aes.KeygenAssist(key, 0x20));
        k[7] = key = Next(key, X86Aes.KeygenAssist(key, 0x40));
        k[8] = key = Next(key, X86Aes.KeygenAssist(key, 0x80));
        k[9] = key = Next(key, X86Aes.KeygenAssist(key, 0x1b));
        k[10] = Next(key, X86Aes.KeygenAssist(key, 0x36));

        static Vector128<byte> Next(Vector128<byte> key, Vector128<byte> assist)
        {
            var t = X86Sse2.Shuffle(assist.AsUInt32(), 0xFF).AsByte();
            key ^= X86Sse2.ShiftLeftLogical128BitLane(key, 4);
            key ^= X86Sse2.ShiftLeftLogical128BitLane(key, 4);
            key ^= X86Sse2.ShiftLeftLogical128BitLane(key, 4);
            return key ^ t;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void EncryptBlocks(Vector128<byte>[] roundKeys, ref byte source, ref byte destination, int blocks)
    {
        ref var k = ref MemoryMarshal.GetArrayDataReference(roundKeys);
        nuint offset = 0;
        nuint end = (nuint)blocks * 16;
        for (; offset + 128 <= end; offset += 128)
        {
            var k0 = k;
            var b0 = Vector128.LoadUnsafe(ref source, offset) ^ k0;
            var b1 = Vector128.LoadUnsafe(ref source, offset + 16) ^ k0;
            var b2 = Vector128.LoadUnsafe(ref source, offset + 32) ^ k0;
            var b3 = Vector128.LoadUnsafe(ref source, offset + 48) ^ k0;
            var b4 = Vector128.LoadUnsafe(ref source, offset + 64) ^ k0;
            var b5 = Vector128.LoadUnsafe(ref source, offset + 80) ^ k0;
            var b6 = Vector128.LoadUnsafe(ref source, offset + 96) ^ k0;
            var b7 = Vector128.LoadUnsafe(ref source, offset + 112) ^ k0;
            Rounds8(ref k, ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7);
            b0.StoreUnsafe(ref destination, offset);
            b1.StoreUnsafe(ref destination, offset + 16);
            b2.StoreUnsafe(ref destination, offset + 32);
            b3.StoreUnsafe(ref destination, offset + 48);
            b4.StoreUnsafe(ref destination, offset + 64);
            b5.StoreUnsafe(ref destination, offset + 80);
            b6.StoreUnsafe(ref destination, offset + 96);
            b7.StoreUnsafe(ref destination, offset + 112);
        }

        if (offset + 64 <= end)
        {
            var k0 = k;
            var b0 = Vector128.LoadUnsafe(ref source, offset) ^ k0;
            var b1 = Vector128.LoadUnsafe(ref source, offset + 16) ^ k0;
            var b2 = Vector128.LoadUnsafe(ref source, offset + 32) ^ k0;
            var b3 = Vector128.LoadUnsafe(ref source, offset + 48) ^ k0;
            Rounds4(ref k, ref b0, ref b1, ref b2, ref b3);
            b0.StoreUnsafe(ref destination, offset);
            b1.StoreUnsafe(ref destination, offset + 16);
            b2.StoreUnsafe(ref destination, offset + 32);
            b3.StoreUnsafe(ref destination, offset + 48);
            offset += 64;
        }

        for (; offset < end; offset += 16)
        {
            Rounds1(ref k, Vector128.LoadUnsafe(ref source, offset) ^ k).StoreUnsafe(ref destination, offset);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CounterBlocks(ref Vector128<byte> k, long firstBlock, ref byte destination, int blocks)
    {

        // LE128(t): the low 8 bytes hold t (t < 2^63, so the high 8 bytes stay zero and adding in the low lane never carries).
        var counter = Vector128.Create((ulong)firstBlock, 0UL);
        var one = Vector128.Create(1UL, 0UL);
        var eight = Vector128.Create(8UL, 0UL);
        nuint offset = 0;
        nuint end = (nuint)blocks * 16;
        for (; offset + 128 <= end; offset += 128)
        {
            var k0 = k;
            var b0 = counter.AsByte() ^ k0;
            var b1 = (counter + one).AsByte() ^ k0;
            var b2 = (counter + one + one).AsByte() ^ k0;
            var b3 = (counter + Vector128.Create(3UL, 0UL)).AsByte() ^ k0;
            var b4 = (counter + Vector128.Create(4UL, 0UL)).AsByte() ^ k0;
            var b5 = (counter + Vector128.Create(5UL, 0UL)).AsByte() ^ k0;
            var b6 = (counter + Vector128.Create(6UL, 0UL)).AsByte() ^ k0;
            var b7 = (counter + Vector128.Create(7UL, 0UL)).AsByte() ^ k0;
            counter += eight;
            Rounds8(ref k, ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7);
            b0.StoreUnsafe(ref destination, offset);
            b1.StoreUnsafe(ref destination, offset + 16);
            b2.StoreUnsafe(ref destination, offset + 32);
            b3.StoreUnsafe(ref destination, offset + 48);
            b4.StoreUnsafe(ref destination, offset + 64);
            b5.StoreUnsafe(ref destination, offset + 80);
            b6.StoreUnsafe(ref destination, offset + 96);
            b7.StoreUnsafe(ref destination, offset + 112);
        }

        for (; offset < end; offset += 16)
        {
            Rounds1(ref k, counter.AsByte() ^ k).StoreUnsafe(ref destination, offset);
            counter += one;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rounds8(
        ref Vector128<byte> k,
        ref Vector128<byte> b0, ref Vector128<byte> b1, ref Vector128<byte> b2, ref Vector128<byte> b3,
        ref Vector128<byte> b4, ref Vector128<byte> b5, ref Vector128<byte> b6, ref Vector128<byte> b7)
    {
        var s0 = b0; var s1 = b1; var s2 = b2; var s3 = b3; var s4 = b4; var s5 = b5; var s6 = b6; var s7 = b7;
        for (var r = 1; r < Rounds; r++)
        {
            var rk = Unsafe.Add(ref k, r);
            s0 = X86Aes.Encrypt(s0, rk);
            s1 = X86Aes.Encrypt(s1, rk);
            s2 = X86Aes.Encrypt(s2, rk);
            s3 = X86Aes.Encrypt(s3, rk);
            s4 = X86Aes.Encrypt(s4, rk);
            s5 = X86Aes.Encrypt(s5, rk);
            s6 = X86Aes.Encrypt(s6, rk);
            s7 = X86Aes.Encrypt(s7, rk);
        }

        var last = Unsafe.Add(ref k, Rounds);
        b0 = X86Aes.EncryptLast(s0, last);
        b1 = X86Aes.EncryptLast(s1, last);
        b2 = X86Aes.EncryptLast(s2, last);
        b3 = X86Aes.EncryptLast(s3, last);
        b4 = X86Aes.EncryptLast(s4, last);
        b5 = X86Aes.EncryptLast(s5, last);
        b6 = X86Aes.EncryptLast(s6, last);
        b7 = X86Aes.EncryptLast(s7, last);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rounds4(ref Vector128<byte> k, ref Vector128<byte> b0, ref Vector128<byte> b1, ref Vector128<byte> b2, ref Vector128<byte> b3)
    {
        var s0 = b0; var s1 = b1; var s2 = b2; var s3 = b3;
        for (var r = 1; r < Rounds; r++)
        {
            var rk = Unsafe.Add(ref k, r);
            s0 = X86Aes.Encrypt(s0, rk);
            s1 = X86Aes.Encrypt(s1, rk);
            s2 = X86Aes.Encrypt(s2, rk);
            s3 = X86Aes.Encrypt(s3, rk);
        }

        var last = Unsafe.Add(ref k, Rounds);
        b0 = X86Aes.EncryptLast(s0, last);
        b1 = X86Aes.EncryptLast(s1, last);
        b2 = X86Aes.EncryptLast(s2, last);
        b3 = X86Aes.EncryptLast(s3, last);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Rounds1(ref Vector128<byte> k, Vector128<byte> state)
    {
        for (var r = 1; r < Rounds; r++) state = X86Aes.Encrypt(state, Unsafe.Add(ref k, r));
        return X86Aes.EncryptLast(state, Unsafe.Add(ref k, Rounds));
    }

    [InlineArray(Rounds + 1)]
    private struct Schedule
    {
        private Vector128<byte> element;
    }
}
