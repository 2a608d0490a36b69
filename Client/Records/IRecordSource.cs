namespace Smpc.Client.Records;

/// <summary>A streamed table of text values: the header, then rows one at a time (never loaded whole).</summary>
public interface IRecordSource : IAsyncDisposable
{
    /// <summary>Column names, in row order.</summary>
    IReadOnlyList<string> Columns { get; }

    /// <summary>The rows, one fresh array per row (null = SQL NULL); a source can be read once.</summary>
    IAsyncEnumerable<string?[]> ReadRowsAsync(CancellationToken cancellationToken = default);

    /// <summary>What is read, for messages, e.g. "csv customers.csv" or "postgres table public.customers"; never a password.</summary>
    string Describe();
}
