using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>
/// The modeller's side of kkrt PSI (the OPRF receiver): cuckoo-hashes its distinct item digests at construction (drawing a
/// fresh hash key until every item fits), then <see cref="ReadSetup"/>, <see cref="QueryHeader"/>, <see cref="WriteRows"/> for every
/// bin in order, and <see cref="Match"/> on the pod's reply. Refusals as for <see cref="KkrtPsiSender"/>.
/// </summary>
/// <remarks>
/// kkrt-v1 (docs/protocols/psi.md, "OT extension: KKRT16"), the modeller's steps:
/// 1. Construction: place each item x in a bin h_i(x) under a fresh cuckoo key hk (random walk; a new key if it fails).
/// 2. <see cref="ReadSetup"/>: the code key ck and the pod's (R_{j,0}, R_{j,1}); as Masny–Rindal sender draw b_j, B_j = b_j·G,
///    k_j^c = KDF(j, c, b_j·(R_{j,c} + G_j(R_{j,1−c}))). Refuses non-canonical or identity elements.
/// 3. <see cref="QueryHeader"/>: hk ‖ B_0 ‖ … ‖ B_511.
/// 4. <see cref="WriteRows"/>: U_b = T^0_b ⊕ T^1_b ⊕ c_b with column j of T^c = PRG(k_j^c), c_b = C(x, i) for the item in
///    bin b (zero for an empty bin); keeps only its own tag Tag(b, T^0_b) per item, so rows can be streamed.
/// 5. <see cref="Match"/>: x (function i, bin b) is in the pod's set iff its tag is in the pod's list L_i.
/// </remarks>
public sealed class KkrtPsiReceiver : IDisposable
{
    private const int KeyBytes = 16;

    private readonly IRandomSource random;
    private readonly byte[] digests;
    private readonly KkrtCuckooTable table;
    private readonly int bins;
    private readonly UInt128[] tags;
    private Step step;
    private byte[]? codeKey;
    private byte[]? keys0;
    private byte[]? keys1;
    private byte[]? header;
    private Aes128Ecb? codeAes;
    private long nextBin;

    // Per-worker buffers of WriteRows, reused across tiles and calls (wiped on Dispose).
    private readonly ConcurrentBag<RowScratch> scratch = [];
    private readonly KkrtOtExtension.TilePool tilePool = new();

    /// <summary>A receiver over <paramref name="itemDigests"/> (16 bytes each, distinct; their count is the declared set size).</summary>
    public KkrtPsiReceiver(ReadOnlyMemory<byte> itemDigests, IRandomSource random)
        : this(itemDigests, random, maxEvictions: KkrtCuckooTable.MaxEvictions)
    {
    }

    internal KkrtPsiReceiver(ReadOnlyMemory<byte> itemDigests, IRandomSource random, int maxEvictions)
    {
        ArgumentNullException.ThrowIfNull(random);
        var count = KkrtItems.CheckDistinct(itemDigests.Span, "the modeller's items");
        bins = KkrtPsiSender.CheckedBins(count);
        TagBytes = KkrtParameters.TagBytes(count);
        this.random = random;
        digests = itemDigests.ToArray();
        table = KkrtCuckooTable.Build(digests, bins, random, maxEvictions);
        tags = new UInt128[count];
    }

    private enum Step
    {
        Created,
        SetupRead,
        HeaderSent,
        Matched,
    }

    /// <summary>Bins m of the session.</summary>
    public long Bins => bins;

    /// <summary>Tag length ℓ of the session.</summary>
    public int TagBytes { get; }

    /// <summary>Cuckoo keys drawn again because an insertion failed (diagnostics).</summary>
    internal int CuckooRedraws => table.Redraws;

    /// <summary>The cuckoo table (tests).</summary>
    internal KkrtCuckooTable Table => table;

    /// <summary>Tests: the base-OT keys k_j^c (512 × 16 bytes) after the setup.</summary>
    internal byte[] OtKeysForTests(int c) => (byte[])(c == 0 ? keys0 : keys1)!.Clone();

    /// <summary>Tests: the code key ck after the setup.</summary>
    internal byte[] CodeKeyForTests => (byte[])codeKey!.Clone();

    /// <summary>Message 1: the pod's setup; validates every element and runs the base OTs.</summary>
    /// <remarks>Randomness: b_j for j = 0..511 in order (64 bytes each, reduced).</remarks>
    public void ReadSetup(ReadOnlySpan<byte> setup)
    {
        Require(Step.Created, "the setup is read once, first");
        if (setup.Length != KkrtParameters.SetupBytes)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"a kkrt setup is {KkrtParameters.SetupBytes} bytes, not {setup.Length}");
        }

        var copy = setup.ToArray();
        var b = new byte[KkrtParameters.BaseOts][];
        for (var j = 0; j < b.Length; j++)
        {
            b[j] = Ristretto255.RandomScalar(random);
        }

        var message = new byte[KkrtParameters.QueryHeaderBytes];
        table.HashKey.CopyTo(message, 0);
        var k0 = new byte[KkrtParameters.BaseOts * KeyBytes];
        var k1 = new byte[KkrtParameters.BaseOts * KeyBytes];
        var bad = -1;
        Parallel.For(0, KkrtParameters.BaseOts, j =>
        {
            try
            {
                KkrtBaseOt.Sender(j, copy.AsSpan(KeyBytes + (j * 64), 32), copy.AsSpan(KeyBytes + (j * 64) + 32, 32), b[j], message.AsSpan(KeyBytes + (j * 32), 32), k0.AsSpan(j * KeyBytes, KeyBytes), k1.AsSpan(j * KeyBytes, KeyBytes));
            }
            catch (CryptographicCheckException)
            {
                bad = j;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(b[j]);
            }
        });
        if (bad >= 0)
        {
            CryptographicOperations.ZeroMemory(k0);
            CryptographicOperations.ZeroMemory(k1);
            throw new CryptographicCheckException(ProtocolError.InvalidElement, $"setup pair {bad}: not canonical non-identity ristretto255 elements (or an identity shared point)");
        }

        codeKey = copy.AsSpan(0, KeyBytes).ToArray();
        codeAes = new Aes128Ecb(codeKey);
        keys0 = k0;
        keys1 = k1;
        header = message;
        step = Step.SetupRead;
    }

    /// <summary>Message 2, head: cuckoo key ‖ 512 B_j.</summary>
    public byte[] QueryHeader()
    {
        Require(Step.SetupRead, "the query header is made once, after the setup");
        step = Step.HeaderSent;
        nextBin = 0;
        return (byte[])header!.Clone();
    }

    /// <summary>Message 2, rows: writes rows for bins [<paramref name="firstBin"/>, + <paramref name="count"/>) (next in order) into <paramref name="destination"/>.</summary>
    public unsafe void WriteRows(long firstBin, int count, Span<byte> destination)
    {
        Require(Step.HeaderSent, "rows are written after the query header and before the match");
        if (firstBin != nextBin)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, $"rows must continue at bin {nextBin}, not {firstBin}");
        }

        if (count < 0 || firstBin + count > bins)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"rows {firstBin}…{firstBin + count - 1} are not within the {bins} bins");
        }

        if (destination.Length < (long)count * KkrtParameters.RowBytes)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"{count} rows need {(long)count * KkrtParameters.RowBytes} bytes, the buffer holds {destination.Length}");
        }

        var aes = codeAes!;
        var tagBytes = TagBytes;
        fixed (byte* output = destination)
        {
            var address = (nint)output;
            KkrtOtExtension.ForEachTile([keys0!, keys1!], firstBin, count, (from, n, t) =>
            {
                var rows = new Span<byte>((void*)(address + (nint)((from - firstBin) * KkrtParameters.RowBytes)), n * KkrtParameters.RowBytes);
                KkrtKernels.Xor(t[0].AsSpan(0, rows.Length), t[1].AsSpan(0, rows.Length), rows);
                var state = scratch.TryTake(out var reused) ? reused : new RowScratch();
                try
                {
                    WriteTile(from, n, t[0], rows, aes, tagBytes, state);
                }
                finally
                {
                    scratch.Add(state);
                }
            }, tilePool);
        }

        nextBin += count;
    }

    // One tile of rows (U = T^0 ⊕ T^1 already in rows): the occupied bins' codes in one AES call XORed into their rows, and
    // their own tags Tag(b, T^0_b) in one batch, all in the worker's reused buffers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WriteTile(long from, int n, byte[] t0, Span<byte> rows, Aes128Ecb aes, int tagBytes, RowScratch state)
    {
        var binItem = table.BinItem;
        var itemFunction = table.ItemFunction;
        var occupied = 0;
        const int Ahead = 8;
        for (var r = 0; r < n; r++)
        {
            // The items of consecutive bins are random items: prefetch the digest a few bins ahead.
            var ahead = r + Ahead < n ? binItem[from + r + Ahead] : -1;
            if (ahead >= 0 && Sse.IsSupported)
            {
                unsafe
                {
                    Sse.Prefetch0(Unsafe.AsPointer(ref digests[ahead * KkrtItems.DigestBytes])); // a hint: harmless if the array moves
                }
            }

            var item = binItem[from + r];
            if (item >= 0)
            {
                KkrtPrimitives.CodeInputs(digests.AsSpan(item * KkrtItems.DigestBytes, KkrtItems.DigestBytes), itemFunction[item], state.Codes.AsSpan(occupied * KkrtPrimitives.CodeBytes, KkrtPrimitives.CodeBytes));
                t0.AsSpan(r * KkrtParameters.RowBytes, KkrtParameters.RowBytes).CopyTo(state.OwnRows.AsSpan(occupied * KkrtParameters.RowBytes));
                state.Bins[occupied] = (int)(from + r);
                state.Items[occupied++] = item;
            }
        }

        if (occupied == 0)
        {
            return;
        }

        var codes = state.Codes.AsSpan(0, occupied * KkrtPrimitives.CodeBytes);
        aes.Encrypt(codes, codes);
        for (var k = 0; k < occupied; k++)
        {
            var row = rows.Slice((state.Bins[k] - (int)from) * KkrtParameters.RowBytes, KkrtParameters.RowBytes);
            KkrtKernels.Xor(row, codes.Slice(k * KkrtPrimitives.CodeBytes, KkrtPrimitives.CodeBytes), row);
        }

        var ownTags = state.OwnTags.AsSpan(0, occupied);
        KkrtPrimitives.Tags(state.Bins.AsSpan(0, occupied), state.OwnRows.AsSpan(0, occupied * KkrtParameters.RowBytes), tagBytes, ownTags);
        for (var k = 0; k < occupied; k++)
        {
            tags[state.Items[k]] = ownTags[k];
        }
    }

    /// <summary>Message 3: checks the reply's shape and order, and matches the modeller's items.</summary>
    public KkrtMatches Match(ReadOnlySpan<byte> reply)
    {
        Require(Step.HeaderSent, "the match comes once, after the whole query");
        if (nextBin != bins)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, $"the match comes after all {bins} rows ({nextBin} written)");
        }

        var listBytes = KkrtParameters.HashFunctions * TagBytes;
        if (reply.Length % listBytes != 0)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"a kkrt reply is three lists of {TagBytes}-byte tags ({reply.Length} bytes is not a multiple of {listBytes})");
        }

        var podCount = reply.Length / listBytes;
        var tagBytes = TagBytes;
        var lists = new UInt128[KkrtParameters.HashFunctions][];
        var unsorted = new int[KkrtParameters.HashFunctions];
        unsafe
        {
            fixed (byte* r = reply)
            {
                var address = (nint)r;
                Parallel.For(0, lists.Length, i =>
                {
                    var list = new UInt128[podCount];
                    var bytes = new ReadOnlySpan<byte>((void*)(address + (nint)((long)i * podCount * tagBytes)), podCount * tagBytes);
                    KkrtPrimitives.ReadTags(bytes, tagBytes, list);
                    unsorted[i] = -1;
                    for (var k = 1; k < podCount; k++)
                    {
                        if (list[k] < list[k - 1])
                        {
                            unsorted[i] = k;
                            break;
                        }
                    }

                    lists[i] = list;
                });
            }
        }

        for (var i = 0; i < lists.Length; i++)
        {
            if (unsorted[i] >= 0)
            {
                throw new MessageRejectedException(ProtocolError.Malformed, $"reply list {i} is not sorted (tag {unsorted[i]})");
            }
        }

        var indexes = new KkrtTagIndex[lists.Length];
        Parallel.For(0, lists.Length, i => indexes[i] = new KkrtTagIndex(lists[i]));
        var matched = new bool[tags.Length];
        const int Chunk = 16384;
        Parallel.For(0, (tags.Length + Chunk - 1) / Chunk, c => MatchRange(indexes, c * Chunk, Math.Min(tags.Length, (c + 1) * Chunk), matched));
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(tags.AsSpan()));
        WipeScratch();
        step = Step.Matched;
        return new KkrtMatches(matched, podCount);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MatchRange(KkrtTagIndex[] indexes, int from, int to, bool[] matched)
    {
        var functions = table.ItemFunction;
        for (var k = from; k < to; k++)
        {
            matched[k] = indexes[functions[k]].Contains(tags[k]);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(keys0);
        CryptographicOperations.ZeroMemory(keys1);
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(tags.AsSpan()));
        CryptographicOperations.ZeroMemory(digests);
        keys0 = null;
        keys1 = null;
        codeAes?.Dispose();
        WipeScratch();
    }

    // The workers' T^0/T^1 tiles, codes and own rows (secret) are needed only while rows are written.
    private void WipeScratch()
    {
        tilePool.Wipe();
        while (scratch.TryTake(out var state))
        {
            state.Wipe();
        }
    }

    private void Require(Step expected, string what)
    {
        if (step != expected)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, $"kkrt modeller: {what} (the session is at step {step})");
        }
    }

    private sealed class RowScratch
    {
        public byte[] Codes { get; } = new byte[KkrtOtExtension.TileBins * KkrtPrimitives.CodeBytes];

        public byte[] OwnRows { get; } = new byte[KkrtOtExtension.TileBins * KkrtParameters.RowBytes];

        public int[] Bins { get; } = new int[KkrtOtExtension.TileBins];

        public int[] Items { get; } = new int[KkrtOtExtension.TileBins];

        public UInt128[] OwnTags { get; } = new UInt128[KkrtOtExtension.TileBins];

        public void Wipe()
        {
            CryptographicOperations.ZeroMemory(Codes);
            CryptographicOperations.ZeroMemory(OwnRows);
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(OwnTags.AsSpan()));
        }
    }
}
