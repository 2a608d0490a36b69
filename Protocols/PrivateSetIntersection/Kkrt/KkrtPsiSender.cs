using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>
/// The pod's side of kkrt PSI (the OPRF sender) as a message-in/message-out state machine: <see cref="CreateSetup"/>, then the
/// modeller's query (<see cref="ReadQueryHeader"/>, <see cref="ReadQueryRows"/> in bin order, <see cref="EndQuery"/>), then
/// <see cref="Reply"/> over its own distinct item digests. Each step once, in order; anything else is refused
/// (<see cref="ProtocolException"/> <c>OutOfOrder</c> / <c>Malformed</c> / <c>InvalidElement</c>) and changes nothing.
/// </summary>
/// <remarks>
/// kkrt-v1 (docs/protocols/psi.md, "OT extension: KKRT16"), the pod's steps:
/// 1. <see cref="CreateSetup"/>: draw the code key ck and the choice row s ∈ {0,1}^512; for each base OT j (Masny–Rindal,
///    receiver) a scalar a_j and a random element R_{j,1−s_j}, and R_{j,s_j} = a_j·G − G_j(R_{j,1−s_j}). Send ck ‖ (R_{j,0}, R_{j,1})_j.
/// 2. <see cref="ReadQueryHeader"/>: the cuckoo key hk and B_j; k_j = KDF(j, s_j, a_j·B_j) (the modeller's k_j^{s_j}).
/// 3. <see cref="ReadQueryRows"/>: for each bin b, Q_b = T^s_b ⊕ (U_b ∧ s) with column j of T^s = PRG(k_j); then
///    Q_b = T^0_b ⊕ (c_b ∧ s), which is the OPRF key of bin b: F_b(y, i) = Tag(b, Q_b ⊕ (C(y, i) ∧ s)).
/// 4. <see cref="Reply"/>: for each item y and i ∈ {0,1,2}, b = h_i(y), the tag F_b(y, i); three lists sorted ascending.
/// </remarks>
public sealed class KkrtPsiSender : IDisposable
{
    private const int KeyBytes = 16;

    private readonly IRandomSource random;
    private readonly int bins;
    private Step step;
    private byte[]? codeKey;
    private byte[]? choiceRow;
    private byte[][]? scalars;
    private byte[]? pairs;
    private byte[]? otKeys;
    private byte[]? hashKey;
    private ulong[]? q;
    private int qStart;
    private readonly KkrtOtExtension.TilePool tilePool = new();
    private long nextBin;

    /// <summary>A sender for a session whose modeller declared <paramref name="modellerSetSize"/> distinct records.</summary>
    public KkrtPsiSender(long modellerSetSize, IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(random);
        bins = CheckedBins(modellerSetSize);
        TagBytes = KkrtParameters.TagBytes(modellerSetSize);
        this.random = random;
    }

    private enum Step
    {
        Created,
        SetupSent,
        HeaderRead,
        QueryEnded,
        Replied,
    }

    /// <summary>Bins m of the session.</summary>
    public long Bins => bins;

    /// <summary>Tag length ℓ of the session.</summary>
    public int TagBytes { get; }

    /// <summary>Tests: the choice row s (64 bytes), while the session holds it.</summary>
    internal byte[] ChoiceRowForTests => (byte[])choiceRow!.Clone();

    /// <summary>Tests: the base-OT keys k_j^{s_j} (512 × 16 bytes), between the query header and its end.</summary>
    internal byte[] OtKeysForTests => (byte[])otKeys!.Clone();

    /// <summary>Tests: row Q_b after the query's rows were read.</summary>
    internal byte[] QRowForTests(long bin) => MemoryMarshal.AsBytes(QRows.Slice((int)(bin * 8), 8)).ToArray();

    // The rows Q_b, 8 words each, starting on a 64-byte boundary of the pinned array q (one cache line per row).
    private Span<ulong> QRows => q.AsSpan(qStart, bins * (KkrtParameters.RowBytes / 8));

    /// <summary>Message 1 (pod-set): code key ‖ 512 (R0, R1) pairs, <see cref="KkrtParameters.SetupBytes"/> bytes.</summary>
    /// <remarks>Randomness, in order: ck (16 bytes), s (64 bytes), then for each j: a_j (64 bytes, reduced) and a 32-byte element seed.</remarks>
    public byte[] CreateSetup()
    {
        Require(Step.Created, "the setup was already created");
        var ck = random.NextBytes(KeyBytes);
        var s = random.NextBytes(KkrtParameters.RowBytes);
        var a = new byte[KkrtParameters.BaseOts][];
        var seeds = new byte[KkrtParameters.BaseOts * 32];
        for (var j = 0; j < KkrtParameters.BaseOts; j++)
        {
            a[j] = Ristretto255.RandomScalar(random);
            random.Fill(seeds.AsSpan(j * 32, 32));
        }

        var message = new byte[KkrtParameters.SetupBytes];
        ck.CopyTo(message, 0);
        var retry = new bool[KkrtParameters.BaseOts];
        Parallel.For(0, KkrtParameters.BaseOts, j =>
            retry[j] = !KkrtBaseOt.ReceiverMessage(j, Bit(s, j), a[j], seeds.AsSpan(j * 32, 32), Pair(message, j, 0), Pair(message, j, 1)));
        for (var j = 0; j < KkrtParameters.BaseOts; j++)
        {
            while (retry[j])
            {
                // Probability about 2^-250 per OT: an identity element; draw this OT's randomness again.
                CryptographicOperations.ZeroMemory(a[j]);
                a[j] = Ristretto255.RandomScalar(random);
                random.Fill(seeds.AsSpan(j * 32, 32));
                retry[j] = !KkrtBaseOt.ReceiverMessage(j, Bit(s, j), a[j], seeds.AsSpan(j * 32, 32), Pair(message, j, 0), Pair(message, j, 1));
            }
        }

        CryptographicOperations.ZeroMemory(seeds);
        codeKey = ck;
        choiceRow = s;
        scalars = a;
        pairs = message.AsSpan(KeyBytes).ToArray();
        step = Step.SetupSent;
        return message;
    }

    /// <summary>Message 2, head: cuckoo key ‖ 512 B_j (<see cref="KkrtParameters.QueryHeaderBytes"/> bytes); validates every element.</summary>
    public void ReadQueryHeader(ReadOnlySpan<byte> header)
    {
        Require(Step.SetupSent, "the query header is read once, after the setup");
        if (header.Length != KkrtParameters.QueryHeaderBytes)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"a kkrt query header is {KkrtParameters.QueryHeaderBytes} bytes, not {header.Length}");
        }

        var copy = header.ToArray();
        var keys = new byte[KkrtParameters.BaseOts * KeyBytes];
        var bad = -1;
        var s = choiceRow!;
        var a = scalars!;
        var r = pairs!;
        Parallel.For(0, KkrtParameters.BaseOts, j =>
        {
            try
            {
                KkrtBaseOt.ReceiverKey(j, Bit(s, j), a[j], r.AsSpan(j * 64, 32), r.AsSpan((j * 64) + 32, 32), copy.AsSpan(KeyBytes + (j * 32), 32), keys.AsSpan(j * KeyBytes, KeyBytes));
            }
            catch (CryptographicCheckException)
            {
                bad = j;
            }
        });
        if (bad >= 0)
        {
            CryptographicOperations.ZeroMemory(keys);
            throw new CryptographicCheckException(ProtocolError.InvalidElement, $"query element B_{bad} is not a canonical non-identity ristretto255 element");
        }

        hashKey = copy.AsSpan(0, KeyBytes).ToArray();
        otKeys = keys;
        q = GC.AllocateArray<ulong>((bins * (KkrtParameters.RowBytes / 8)) + 8, pinned: true);
        unsafe
        {
            qStart = (int)((64 - ((nint)Unsafe.AsPointer(ref q[0]) & 63)) & 63) / 8;
        }

        foreach (var scalar in a)
        {
            CryptographicOperations.ZeroMemory(scalar);
        }

        scalars = null;
        nextBin = 0;
        step = Step.HeaderRead;
    }

    /// <summary>Message 2, rows: whole 64-byte rows starting at bin <paramref name="firstBin"/>, which must be the next expected bin.</summary>
    public unsafe void ReadQueryRows(long firstBin, ReadOnlySpan<byte> rows)
    {
        Require(Step.HeaderRead, "query rows come after the header and before the end of the query");
        if (firstBin != nextBin)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, $"query rows must continue at bin {nextBin}, not {firstBin}");
        }

        if (rows.Length % KkrtParameters.RowBytes != 0)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"query rows are whole {KkrtParameters.RowBytes}-byte rows ({rows.Length} bytes given)");
        }

        var count = rows.Length / KkrtParameters.RowBytes;
        if (firstBin + count > bins)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"query rows {firstBin}…{firstBin + count - 1} run past the {bins} bins");
        }

        var s = MemoryMarshal.Cast<byte, ulong>(choiceRow).ToArray();
        var matrix = q!;
        var matrixStart = qStart;
        fixed (byte* u = rows)
        {
            var uAddress = (nint)u;
            KkrtOtExtension.ForEachTile([otKeys!], firstBin, count, (from, n, t) =>
            {
                var input = new ReadOnlySpan<ulong>((void*)(uAddress + (nint)((from - firstBin) * KkrtParameters.RowBytes)), n * 8);
                var ts = MemoryMarshal.Cast<byte, ulong>(t[0].AsSpan(0, n * KkrtParameters.RowBytes));
                var output = matrix.AsSpan(matrixStart + (int)(from * 8), n * 8);
                CombineRows(ts, input, s, output);
            }, tilePool);
        }

        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(s.AsSpan()));
        nextBin += count;
    }

    /// <summary>Message 2, end: refused unless exactly m rows were read.</summary>
    public void EndQuery()
    {
        Require(Step.HeaderRead, "the query ends once, after its rows");
        if (nextBin != bins)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"the query ended after {nextBin} of its {bins} rows");
        }

        CryptographicOperations.ZeroMemory(otKeys);
        otKeys = null;
        tilePool.Wipe();
        step = Step.QueryEnded;
    }

    /// <summary>Message 3 (reply): three ascending lists of ℓ-byte tags over <paramref name="itemDigests"/> (16 bytes each, distinct), concatenated.</summary>
    public unsafe byte[] Reply(ReadOnlySpan<byte> itemDigests)
    {
        Require(Step.QueryEnded, "the reply is made once, after the whole query");
        if (itemDigests.Length % KkrtItems.DigestBytes != 0)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "the pod's items: item digests are 16 bytes each");
        }

        var count = itemDigests.Length / KkrtItems.DigestBytes;
        var total = (long)KkrtParameters.HashFunctions * count * TagBytes;
        if (total > Array.MaxLength)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, $"a reply for {count} items exceeds one buffer");
        }

        var lists = new UInt128[KkrtParameters.HashFunctions][];
        for (var i = 0; i < lists.Length; i++)
        {
            lists[i] = new UInt128[count];
        }

        var s = MemoryMarshal.Cast<byte, ulong>(choiceRow).ToArray();
        var hk = hashKey!;
        var ck = codeKey!;
        fixed (byte* d = itemDigests)
        fixed (ulong* matrix = &q![qStart])
        {
            var digestsAddress = (nint)d;
            var rowsAddress = (nint)matrix;
            Parallel.For(0, (count + ChunkState.Items - 1) / ChunkState.Items, () => new ChunkState(hk, ck), (c, _, state) =>
            {
                var start = c * ChunkState.Items;
                var take = Math.Min(ChunkState.Items, count - start);
                var digests = new ReadOnlySpan<byte>((void*)(digestsAddress + (start * KkrtItems.DigestBytes)), take * KkrtItems.DigestBytes);
                ReplyChunk(digests, (ulong*)rowsAddress, s, state);
                for (var k = 0; k < take; k++)
                {
                    for (var i = 0; i < KkrtParameters.HashFunctions; i++)
                    {
                        lists[i][start + k] = state.Tags[(k * KkrtParameters.HashFunctions) + i];
                    }
                }

                return state;
            }, state => state.Dispose());
        }

        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(s.AsSpan()));
        Parallel.For(0, lists.Length, i => KkrtPrimitives.SortTags(lists[i]));

        // Equal digests give equal tags in L_0; only then (or on a 2^-8ℓ tag collision, which is kept) check distinctness.
        for (var k = 1; k < count; k++)
        {
            if (lists[0][k] == lists[0][k - 1])
            {
                KkrtItems.CheckDistinct(itemDigests, "the pod's items");
                break;
            }
        }

        var reply = new byte[total];
        var tagBytes = TagBytes;
        Parallel.For(0, lists.Length, i => KkrtPrimitives.WriteTags(lists[i], tagBytes, reply.AsSpan((int)((long)i * count * tagBytes), count * tagBytes)));
        WipeQuery();
        step = Step.Replied;
        return reply;
    }

    // The tags of up to ChunkState.Items items into state.Tags (3 per item, in item order): positions and the twelve code
    // blocks per item in one AES call each, then rows Q_b ⊕ (C(y, i) ∧ s), prefetching Q a few rows ahead (the bins are
    // random, so every row is a cache miss), then eight tags per AVX2 pass.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void ReplyChunk(ReadOnlySpan<byte> digests, ulong* matrix, ulong[] s, ChunkState state)
    {
        const int H = KkrtParameters.HashFunctions;
        const int Ahead = 16;
        var take = digests.Length / KkrtItems.DigestBytes;
        var positions = state.Positions.AsSpan(0, take * H);
        KkrtPrimitives.Positions(state.HashAes, digests, bins, positions);
        for (var t = 0; t < Math.Min(Ahead, positions.Length); t++)
        {
            Prefetch(matrix + ((long)positions[t] * 8));
        }

        var codes = state.Codes.AsSpan(0, take * H * KkrtPrimitives.CodeBytes);
        var input = MemoryMarshal.Cast<byte, Vector128<byte>>(digests);
        var blocks = MemoryMarshal.Cast<byte, Vector128<byte>>(codes);
        for (var k = 0; k < take; k++)
        {
            var d = input[k];
            for (var t = 0; t < 4 * H; t++)
            {
                blocks[(k * 4 * H) + t] = d ^ Vector128.CreateScalar((byte)t); // τ_{i,j}, t = 4i + j
            }
        }

        state.CodeAes.Encrypt(codes, codes);
        var rows = MemoryMarshal.Cast<byte, Vector256<ulong>>(state.Rows.AsSpan(0, take * H * KkrtParameters.RowBytes));
        var code = MemoryMarshal.Cast<byte, Vector256<ulong>>(codes);
        var s0 = Vector256.Create(s[0], s[1], s[2], s[3]);
        var s1 = Vector256.Create(s[4], s[5], s[6], s[7]);
        for (var t = 0; t < positions.Length; t++)
        {
            if (t + Ahead < positions.Length)
            {
                Prefetch(matrix + ((long)positions[t + Ahead] * 8));
            }

            var row = matrix + ((long)positions[t] * 8);
            rows[2 * t] = Vector256.Load(row) ^ (code[2 * t] & s0);
            rows[(2 * t) + 1] = Vector256.Load(row + 4) ^ (code[(2 * t) + 1] & s1);
        }

        KkrtPrimitives.Tags(positions, MemoryMarshal.AsBytes(rows), TagBytes, state.Tags.AsSpan(0, take * H));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        WipeQuery();
        CryptographicOperations.ZeroMemory(otKeys);
        if (scalars is not null)
        {
            foreach (var scalar in scalars)
            {
                CryptographicOperations.ZeroMemory(scalar);
            }
        }

        scalars = null;
        otKeys = null;
        tilePool.Wipe();
    }

    /// <summary>The largest bin count a party holds (the pod keeps 64 bytes per bin in one array).</summary>
    internal static int CheckedBins(long modellerSetSize)
    {
        if (modellerSetSize < 0)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "a set size is not negative");
        }

        var m = KkrtParameters.Bins(modellerSetSize);
        return m > Array.MaxLength / 8
            ? throw new ProtocolException(ProtocolError.InvalidParameters, $"a kkrt session of {modellerSetSize} records needs {m} bins, over the {Array.MaxLength / 8} one party can hold")
            : (int)m;
    }

    // Q_b = T^s_b ⊕ (U_b ∧ s) for whole rows of 8 words.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CombineRows(ReadOnlySpan<ulong> ts, ReadOnlySpan<ulong> u, ReadOnlySpan<ulong> s, Span<ulong> q)
    {
        var t = MemoryMarshal.Cast<ulong, Vector256<ulong>>(ts[..q.Length]);
        var x = MemoryMarshal.Cast<ulong, Vector256<ulong>>(u[..q.Length]);
        var output = MemoryMarshal.Cast<ulong, Vector256<ulong>>(q);
        var s0 = Vector256.Create(s[0], s[1], s[2], s[3]);
        var s1 = Vector256.Create(s[4], s[5], s[6], s[7]);
        for (var v = 0; v + 1 < output.Length; v += 2)
        {
            output[v] = t[v] ^ (x[v] & s0);
            output[v + 1] = t[v + 1] ^ (x[v + 1] & s1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(ulong* address)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(address);
        }
    }

    internal static int Bit(ReadOnlySpan<byte> row, int j) => (row[j >> 3] >> (j & 7)) & 1;

    private static Span<byte> Pair(byte[] message, int j, int c) => message.AsSpan(KeyBytes + (j * 64) + (c * 32), 32);

    private void Require(Step expected, string what)
    {
        if (step != expected)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, $"kkrt pod: {what} (the session is at step {step})");
        }
    }

    private void WipeQuery()
    {
        if (q is not null)
        {
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(q.AsSpan()));
        }

        CryptographicOperations.ZeroMemory(choiceRow);
        q = null;
        choiceRow = null;
    }

    private sealed class ChunkState(byte[] hashKey, byte[] codeKey) : IDisposable
    {
        /// <summary>Items per chunk.</summary>
        public const int Items = 1024;

        public Aes128Ecb HashAes { get; } = new(hashKey);

        public Aes128Ecb CodeAes { get; } = new(codeKey);

        public int[] Positions { get; } = new int[1024 * KkrtParameters.HashFunctions];

        public byte[] Codes { get; } = new byte[1024 * KkrtParameters.HashFunctions * KkrtPrimitives.CodeBytes];

        public byte[] Rows { get; } = new byte[1024 * KkrtParameters.HashFunctions * KkrtParameters.RowBytes];

        public UInt128[] Tags { get; } = new UInt128[1024 * KkrtParameters.HashFunctions];

        public void Dispose()
        {
            HashAes.Dispose();
            CodeAes.Dispose();
            CryptographicOperations.ZeroMemory(Rows);
            CryptographicOperations.ZeroMemory(Codes);
        }
    }
}
