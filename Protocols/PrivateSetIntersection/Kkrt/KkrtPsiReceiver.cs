using System.Runtime.InteropServices;
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
    private long nextBin;

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

        var ck = codeKey!;
        var tagBytes = TagBytes;
        fixed (byte* output = destination)
        {
            var address = (nint)output;
            KkrtOtExtension.ForEachTile([keys0!, keys1!], firstBin, count, (from, n, t) =>
            {
                var rows = new Span<byte>((void*)(address + (nint)((from - firstBin) * KkrtParameters.RowBytes)), n * KkrtParameters.RowBytes);
                var t0 = MemoryMarshal.Cast<byte, ulong>(t[0].AsSpan(0, n * KkrtParameters.RowBytes));
                var t1 = MemoryMarshal.Cast<byte, ulong>(t[1].AsSpan(0, n * KkrtParameters.RowBytes));
                var u = MemoryMarshal.Cast<byte, ulong>(rows);
                for (var w = 0; w < n * 8; w++)
                {
                    u[w] = t0[w] ^ t1[w];
                }

                // The occupied bins of this piece: their codes in one AES call, their tags Tag(b, T^0_b) in one batch.
                var occupied = 0;
                for (var r = 0; r < n; r++)
                {
                    occupied += table.BinItem[from + r] >= 0 ? 1 : 0;
                }

                if (occupied == 0)
                {
                    return;
                }

                var codes = new byte[occupied * KkrtPrimitives.CodeBytes];
                var ownRows = new byte[occupied * KkrtParameters.RowBytes];
                var bins = new int[occupied];
                var items = new int[occupied];
                var next = 0;
                for (var r = 0; r < n; r++)
                {
                    var item = table.BinItem[from + r];
                    if (item >= 0)
                    {
                        KkrtPrimitives.CodeInputs(digests.AsSpan(item * KkrtItems.DigestBytes, KkrtItems.DigestBytes), table.ItemFunction[item], codes.AsSpan(next * KkrtPrimitives.CodeBytes, KkrtPrimitives.CodeBytes));
                        t[0].AsSpan(r * KkrtParameters.RowBytes, KkrtParameters.RowBytes).CopyTo(ownRows.AsSpan(next * KkrtParameters.RowBytes));
                        bins[next] = (int)(from + r);
                        items[next++] = item;
                    }
                }

                using (var aes = new Aes128Ecb(ck))
                {
                    aes.Encrypt(codes, codes);
                }

                var codeWords = MemoryMarshal.Cast<byte, ulong>(codes.AsSpan());
                for (var k = 0; k < occupied; k++)
                {
                    var r = bins[k] - (int)from;
                    for (var w = 0; w < 8; w++)
                    {
                        u[(r * 8) + w] ^= codeWords[(k * 8) + w];
                    }
                }

                var ownTags = new UInt128[occupied];
                KkrtPrimitives.Tags(bins, ownRows, tagBytes, ownTags);
                for (var k = 0; k < occupied; k++)
                {
                    tags[items[k]] = ownTags[k];
                }

                CryptographicOperations.ZeroMemory(ownRows);
            });
        }

        nextBin += count;
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
        var lists = new UInt128[KkrtParameters.HashFunctions][];
        for (var i = 0; i < lists.Length; i++)
        {
            var list = new UInt128[podCount];
            var offset = i * podCount * TagBytes;
            for (var k = 0; k < podCount; k++)
            {
                list[k] = KkrtPrimitives.ReadTag(reply.Slice(offset + (k * TagBytes), TagBytes));
                if (k > 0 && list[k] < list[k - 1])
                {
                    throw new MessageRejectedException(ProtocolError.Malformed, $"reply list {i} is not sorted (tag {k})");
                }
            }

            lists[i] = list;
        }

        var matched = new bool[tags.Length];
        Parallel.For(0, tags.Length, k => matched[k] = Array.BinarySearch(lists[table.ItemFunction[k]], tags[k]) >= 0);
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(tags.AsSpan()));
        step = Step.Matched;
        return new KkrtMatches(matched, podCount);
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
    }

    private void Require(Step expected, string what)
    {
        if (step != expected)
        {
            throw new MessageRejectedException(ProtocolError.OutOfOrder, $"kkrt modeller: {what} (the session is at step {step})");
        }
    }
}
