using Smpc.Protocols;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Agent.Psi;

/// <summary>
/// Cuts the modeller's kkrt query, as it downloads in chunks of any size, into its head (cuckoo key ‖ 512 B_j,
/// <see cref="KkrtParameters.QueryHeaderBytes"/>) and whole 64-byte rows in bin order, so the pod never holds the query
/// whole (1.6 GB at 2^24 records). The sender itself checks the head, the row order and the count.
/// </summary>
public sealed class KkrtQueryFeed(Action<ReadOnlyMemory<byte>> onHeader, Action<long, ReadOnlySpan<byte>> onRows)
{
    private readonly byte[] _header = new byte[KkrtParameters.QueryHeaderBytes];
    private readonly byte[] _partial = new byte[KkrtParameters.RowBytes];
    private int _headerFilled;
    private int _partialFilled;

    /// <summary>Rows handed over so far (the next row's bin).</summary>
    public long Rows { get; private set; }

    /// <summary>Bytes fed so far.</summary>
    public long Bytes { get; private set; }

    /// <summary>Feeds the next chunk of the query.</summary>
    public void Add(ReadOnlySpan<byte> chunk)
    {
        Bytes += chunk.Length;
        if (_headerFilled < _header.Length)
        {
            var take = Math.Min(chunk.Length, _header.Length - _headerFilled);
            chunk[..take].CopyTo(_header.AsSpan(_headerFilled));
            _headerFilled += take;
            chunk = chunk[take..];
            if (_headerFilled < _header.Length) return;
            onHeader(_header);
        }

        if (_partialFilled > 0)
        {
            var take = Math.Min(chunk.Length, _partial.Length - _partialFilled);
            chunk[..take].CopyTo(_partial.AsSpan(_partialFilled));
            _partialFilled += take;
            chunk = chunk[take..];
            if (_partialFilled < _partial.Length) return;
            onRows(Rows, _partial);
            Rows++;
            _partialFilled = 0;
        }

        var whole = chunk.Length / KkrtParameters.RowBytes;
        if (whole > 0)
        {
            onRows(Rows, chunk[..(whole * KkrtParameters.RowBytes)]);
            Rows += whole;
        }

        chunk[(whole * KkrtParameters.RowBytes)..].CopyTo(_partial);
        _partialFilled = chunk.Length - whole * KkrtParameters.RowBytes;
    }

    /// <summary>The query ended: refused (<c>Malformed</c>) if it stopped inside the head or inside a row.</summary>
    public void Complete()
    {
        if (_headerFilled < _header.Length)
            throw new ProtocolException(ProtocolError.Malformed, $"the kkrt query ends inside its head ({_headerFilled} of {_header.Length} bytes)");
        if (_partialFilled > 0)
            throw new ProtocolException(ProtocolError.Malformed, $"the kkrt query ends inside a row ({_partialFilled} stray bytes)");
    }
}
