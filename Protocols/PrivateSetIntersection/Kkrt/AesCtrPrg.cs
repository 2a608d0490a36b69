namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>AES-128 in counter mode as the PRG of docs/protocols/psi.md: block t of the stream is AES_key(LE128(t)), t = 0, 1, …</summary>
public static class AesCtrPrg
{
    /// <summary>Fills <paramref name="destination"/> (a multiple of 16 bytes) with stream blocks <paramref name="firstBlock"/>, <paramref name="firstBlock"/> + 1, …</summary>
    /// <remarks>
    /// Expands the key on every call (on the stack with AES-NI: no allocation, ~20 ns); to draw many chunks from one stream, keep an
    /// <see cref="Aes128Ecb"/> and use the other overload.
    /// </remarks>
    public static void Generate(ReadOnlySpan<byte> key, long firstBlock, Span<byte> destination) =>
        Aes128Ecb.GenerateCounterStream(key, firstBlock, destination);

    /// <summary>Fills <paramref name="destination"/> (a multiple of 16 bytes) with blocks <paramref name="firstBlock"/>, … of the stream under an expanded key; no allocation.</summary>
    public static void Generate(Aes128Ecb key, long firstBlock, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(key);
        key.GenerateCounterStream(firstBlock, destination);
    }

    /// <summary>
    /// Draws the same window of many streams, one per key: stream j's blocks <paramref name="firstBlock"/> ..
    /// <paramref name="firstBlock"/> + <paramref name="blocks"/> − 1 go to <c>destination[j · blocks · 16 ..]</c>. This is the column
    /// chunk of the OT-extension matrix for bins [128 · firstBlock, 128 · (firstBlock + blocks)), ready for
    /// <see cref="BitMatrix.ColumnsToRows"/> with column stride <c>blocks · 16</c>.
    /// </summary>
    public static void GenerateColumns(ReadOnlySpan<Aes128Ecb> keys, long firstBlock, int blocks, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(blocks);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blocks, int.MaxValue / 16);
        var columnBytes = blocks * 16;
        if (destination.Length < (long)keys.Length * columnBytes) throw new ArgumentException("Too short for every column.", nameof(destination));
        for (var j = 0; j < keys.Length; j++)
        {
            ArgumentNullException.ThrowIfNull(keys[j], nameof(keys));
            keys[j].GenerateCounterStream(firstBlock, destination.Slice(j * columnBytes, columnBytes));
        }
    }
}
