using Smpc.Protocols.Randomness;

namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>The 16-byte item digest d(y) = SHA-256("smpc/psi/kkrt/v1/item" ‖ e(y))[0..16) of a canonical record e(y).</summary>
public static class KkrtItems
{
    /// <summary>Bytes of one item digest.</summary>
    public const int DigestBytes = 16;

    /// <summary>Writes d(<paramref name="encodedRecord"/>) into <paramref name="digest"/> (16 bytes).</summary>
    public static void Digest(ReadOnlySpan<byte> encodedRecord, Span<byte> digest) => throw new NotImplementedException();
}

/// <summary>
/// The pod's side of kkrt PSI (the OPRF sender) as a message-in/message-out state machine: <see cref="CreateSetup"/>, then the
/// modeller's query (<see cref="ReadQueryHeader"/>, <see cref="ReadQueryRows"/> in bin order, <see cref="EndQuery"/>), then
/// <see cref="Reply"/> over its own distinct item digests. Each step once, in order; anything else is refused
/// (<see cref="ProtocolException"/> <c>OutOfOrder</c> / <c>Malformed</c> / <c>InvalidElement</c>) and changes nothing.
/// </summary>
public sealed class KkrtPsiSender : IDisposable
{
    /// <summary>A sender for a session whose modeller declared <paramref name="modellerSetSize"/> distinct records.</summary>
    public KkrtPsiSender(long modellerSetSize, IRandomSource random) => throw new NotImplementedException();

    /// <summary>Bins m of the session.</summary>
    public long Bins => throw new NotImplementedException();

    /// <summary>Tag length ℓ of the session.</summary>
    public int TagBytes => throw new NotImplementedException();

    /// <summary>Message 1 (pod-set): code key ‖ 512 (R0, R1) pairs, <see cref="KkrtParameters.SetupBytes"/> bytes.</summary>
    public byte[] CreateSetup() => throw new NotImplementedException();

    /// <summary>Message 2, head: cuckoo key ‖ 512 B_j (<see cref="KkrtParameters.QueryHeaderBytes"/> bytes); validates every element.</summary>
    public void ReadQueryHeader(ReadOnlySpan<byte> header) => throw new NotImplementedException();

    /// <summary>Message 2, rows: whole 64-byte rows starting at bin <paramref name="firstBin"/>, which must be the next expected bin.</summary>
    public void ReadQueryRows(long firstBin, ReadOnlySpan<byte> rows) => throw new NotImplementedException();

    /// <summary>Message 2, end: refused unless exactly m rows were read.</summary>
    public void EndQuery() => throw new NotImplementedException();

    /// <summary>Message 3 (reply): three strictly ascending lists of ℓ-byte tags over <paramref name="itemDigests"/> (16 bytes each, distinct), concatenated.</summary>
    public byte[] Reply(ReadOnlySpan<byte> itemDigests) => throw new NotImplementedException();

    /// <inheritdoc />
    public void Dispose() { }
}

/// <summary>What the modeller learned: for each of its items (in the order given) whether the pod holds it, and the pod's set size.</summary>
public sealed record KkrtMatches(bool[] Matched, long PodSetSize)
{
    /// <summary>Number of matched items.</summary>
    public long Count => Matched.LongCount(m => m);
}

/// <summary>
/// The modeller's side of kkrt PSI (the OPRF receiver): cuckoo-hashes its distinct item digests at construction (drawing a
/// fresh hash key until every item fits), then <see cref="ReadSetup"/>, <see cref="QueryHeader"/>, <see cref="WriteRows"/> for every
/// bin in order, and <see cref="Match"/> on the pod's reply. Refusals as for <see cref="KkrtPsiSender"/>.
/// </summary>
public sealed class KkrtPsiReceiver : IDisposable
{
    /// <summary>A receiver over <paramref name="itemDigests"/> (16 bytes each, distinct; their count is the declared set size).</summary>
    public KkrtPsiReceiver(ReadOnlyMemory<byte> itemDigests, IRandomSource random) => throw new NotImplementedException();

    /// <summary>Bins m of the session.</summary>
    public long Bins => throw new NotImplementedException();

    /// <summary>Tag length ℓ of the session.</summary>
    public int TagBytes => throw new NotImplementedException();

    /// <summary>Message 1: the pod's setup; validates every element and runs the base OTs.</summary>
    public void ReadSetup(ReadOnlySpan<byte> setup) => throw new NotImplementedException();

    /// <summary>Message 2, head: cuckoo key ‖ 512 B_j.</summary>
    public byte[] QueryHeader() => throw new NotImplementedException();

    /// <summary>Message 2, rows: writes rows for bins [<paramref name="firstBin"/>, + <paramref name="count"/>) (next in order) into <paramref name="destination"/>.</summary>
    public void WriteRows(long firstBin, int count, Span<byte> destination) => throw new NotImplementedException();

    /// <summary>Message 3: checks the reply's shape and order, and matches the modeller's items.</summary>
    public KkrtMatches Match(ReadOnlySpan<byte> reply) => throw new NotImplementedException();

    /// <inheritdoc />
    public void Dispose() { }
}
