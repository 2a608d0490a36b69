using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Client.Psi;

/// <summary>
/// Collects fixed-size elements and hands them back sorted (PSI's "sorted is shuffled" order), de-duplicated when
/// <c>unique</c> (a set) or all of them (replies, one per query element), in bounded memory: sorted runs of at most
/// <c>runBytes</c> go to a temporary file and are merged on the way out.
/// </summary>
public sealed class SortedSpool(int elementBytes, bool unique = true, int runBytes = 32 << 20) : IDisposable
{
    private readonly int _runElements = Math.Max(1, runBytes / elementBytes);
    private readonly List<(long Offset, long Count)> _runs = [];
    private byte[] _current = [];
    private byte[]? _sorted;
    private int _filled;
    private FileStream? _file;

    /// <summary>Elements added (before de-duplication).</summary>
    public long Added { get; private set; }

    /// <summary>Adds a flat batch of elements.</summary>
    public void Add(ReadOnlySpan<byte> flat)
    {
        PsiElements.CheckFlat(flat.Length, elementBytes);
        while (!flat.IsEmpty)
        {
            if (_current.Length == 0) _current = new byte[_runElements * elementBytes];
            var take = Math.Min(flat.Length, _current.Length - _filled);
            flat[..take].CopyTo(_current.AsSpan(_filled));
            _filled += take;
            flat = flat[take..];
            Added += take / elementBytes;
            _sorted = null;
            if (_filled == _current.Length) FlushRun();
        }
    }

    /// <summary>Writes every element once, ascending; returns how many were written.</summary>
    public async Task<long> WriteSortedAsync(Stream destination, CancellationToken ct = default)
    {
        if (_file is null)
        {
            // Everything fit in one run: no file; sorted once, however often it is written.
            var sorted = _sorted ??= Sort(_current[.._filled]);
            await destination.WriteAsync(sorted, ct);
            return sorted.Length / elementBytes;
        }

        if (_filled > 0) FlushRun();
        var readers = _runs.Select(r => new RunReader(_file.Name, r.Offset, r.Count, elementBytes)).ToList();
        try
        {
            var queue = new PriorityQueue<RunReader, byte[]>(Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)));
            foreach (var reader in readers)
                if (reader.MoveNext()) queue.Enqueue(reader, reader.Current);
            var output = new byte[Math.Max(1, (1 << 20) / elementBytes) * elementBytes];
            var used = 0;
            long written = 0;
            byte[]? last = null;
            while (queue.TryDequeue(out var reader, out var element))
            {
                if (!unique || last is null || !last.AsSpan().SequenceEqual(element))
                {
                    element.CopyTo(output, used);
                    used += elementBytes;
                    written++;
                    last = element;
                    if (used == output.Length)
                    {
                        await destination.WriteAsync(output.AsMemory(0, used), ct);
                        used = 0;
                    }
                }

                if (reader.MoveNext()) queue.Enqueue(reader, reader.Current);
            }

            if (used > 0) await destination.WriteAsync(output.AsMemory(0, used), ct);
            return written;
        }
        finally
        {
            foreach (var reader in readers) reader.Dispose();
        }
    }

    /// <summary>Counts what <see cref="WriteSortedAsync"/> would write (sorting and merging, without writing anything out).</summary>
    public async Task<long> CountDistinctAsync(CancellationToken ct = default) => await WriteSortedAsync(Stream.Null, ct);

    public void Dispose()
    {
        if (_file is null) return;
        var name = _file.Name;
        _file.Dispose();
        File.Delete(name);
    }

    private void FlushRun()
    {
        var sorted = Sort(_current[.._filled]);
        _file ??= new FileStream(Path.Combine(Path.GetTempPath(), $"smpc-spool-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 1 << 16, FileOptions.DeleteOnClose);
        _file.Seek(0, SeekOrigin.End);
        _runs.Add((_file.Position, sorted.Length / elementBytes));
        _file.Write(sorted);
        _file.Flush();
        _filled = 0;
    }

    private byte[] Sort(byte[] flat) => PsiElements.SortUnique(flat, elementBytes, unique);

    /// <summary>Reads one sorted run back through its own handle.</summary>
    private sealed class RunReader : IDisposable
    {
        private readonly FileStream _stream;
        private readonly int _size;
        private long _left;

        public RunReader(string path, long offset, long count, int size)
        {
            _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
            _stream.Seek(offset, SeekOrigin.Begin);
            _left = count;
            _size = size;
            Current = [];
        }

        public byte[] Current { get; private set; }

        public bool MoveNext()
        {
            if (_left == 0) return false;
            var element = new byte[_size];
            _stream.ReadExactly(element);
            Current = element;
            _left--;
            return true;
        }

        public void Dispose() => _stream.Dispose();
    }
}
