using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.TestSupport;

namespace Smpc.Bench;

/// <summary>
/// End-to-end harness for the large-payload store: streams N MiB through REST into a real silo process and back,
/// and reports throughput and the silo's peak RSS next to a baseline measured in the same run (the same bytes written
/// to and read from a local file with fsync).
/// <c>dotnet run -c Release --project bench/Smpc.Bench -- payload [--mib 256] [--postgres]</c>
/// </summary>
public static class PayloadHarness
{
    private const string OperatorKey = "smpc_op_bench-harness-operator-key";

    public static async Task<int> RunAsync(string[] args)
    {
        var mib = int.Parse(BenchArgs.Arg(args, "--mib") ?? "256", CultureInfo.InvariantCulture);
        var postgres = args.Contains("--postgres");
        var bytes = (long)mib << 20;
        var data = Path.Combine(Path.GetTempPath(), "smpc-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(data);
        await using var server = postgres ? await PostgresServer.StartAsync() : null;

        var env = new Dictionary<string, string>
        {
            ["Smpc__DataDirectory"] = data,
            ["Smpc__SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Smpc__GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Smpc__Gateway__MaxPayloadBytes"] = (bytes * 2).ToString(CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Warning",
            ["Smpc__Gateway__OperatorKeySha256"] = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(OperatorKey))),
        };
        if (server is not null)
        {
            env["Smpc__Mode"] = "Cluster";
            env["Smpc__CoHostGateway"] = "true";
            env["Smpc__ApplySchemaOnStart"] = "true";
            env["ConnectionStrings__Smpc"] = await server.CreateDatabaseAsync("bench");
        }

        await using var silo = ServiceProcess.Start("silo", RepoPaths.Assembly("Silo", "Smpc.Silo"), FreePort.Next(), env);
        var startClock = Stopwatch.StartNew();
        await silo.WaitUntilReadyAsync(TimeSpan.FromMinutes(2));
        var startMs = startClock.ElapsedMilliseconds;
        var @operator = new SmpcClient(new HttpClient { BaseAddress = silo.BaseAddress, Timeout = TimeSpan.FromMinutes(30) }, OperatorKey);
        var admin = @operator.WithKey((await @operator.CreateTenantAsync(new CreateTenantRequest("bench", "Bench"))).AdminKey!.ApiKey);
        foreach (var pod in new[] { "p1", "p2", "p3" }) await admin.RegisterPodAsync("bench", new RegisterPodRequest(pod, pod, Convert.ToBase64String(new byte[32])));
        var client = admin.WithKey((await admin.RegisterModellerAsync("bench", new RegisterModellerRequest("m1", "m1"))).ApiKey!.ApiKey);
        await client.CreateSessionAsync("bench", new CreateSessionRequest("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"],
            new AggregationRequest([new AggregationFieldRequest("x", 3, -10, 10)], "mean", Convert.ToBase64String(new byte[32]), "x")));
        var idleRss = silo.PeakResidentBytes();

        var upload = Stopwatch.StartNew();
        var manifest = await client.UploadPayloadAsync("bench", "s1", "blob", new GeneratedStream(bytes, seed: 42));
        upload.Stop();
        var afterUploadRss = silo.PeakResidentBytes();

        var sink = new HashingSink();
        var download = Stopwatch.StartNew();
        await client.DownloadPayloadAsync("bench", "s1", "blob", sink);
        download.Stop();
        var peakRss = silo.PeakResidentBytes();
        var roundTripOk = sink.Length == bytes && sink.Sha256() == manifest.Sha256;

        var (baselineWrite, baselineRead) = await FileBaselineAsync(bytes, data);

        Console.WriteLine($"# Large-payload store, {mib} MiB, {(postgres ? "PostgreSQL (cluster-mode silo, co-hosted REST)" : "SQLite (embedded silo)")}");
        Console.WriteLine($"silo ready after          {startMs} ms");
        Console.WriteLine($"upload (REST -> grain -> chunk table)   {upload.Elapsed.TotalSeconds,7:F2} s  {Rate(bytes, upload.Elapsed),8:F1} MiB/s   baseline file write+fsync {baselineWrite.TotalSeconds:F2} s  ratio {upload.Elapsed / baselineWrite:F1}x");
        Console.WriteLine($"download (chunk table -> grain -> REST) {download.Elapsed.TotalSeconds,7:F2} s  {Rate(bytes, download.Elapsed),8:F1} MiB/s   baseline file read        {baselineRead.TotalSeconds:F2} s  ratio {download.Elapsed / baselineRead:F1}x");
        Console.WriteLine($"silo peak RSS: idle {idleRss >> 20} MiB, after upload {afterUploadRss >> 20} MiB, after download {peakRss >> 20} MiB (payload {mib} MiB, chunks {manifest.ChunkCount})");
        Console.WriteLine($"round trip intact: {roundTripOk}");

        await silo.KillAsync();
        try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        return roundTripOk ? 0 : 1;
    }

    private static double Rate(long bytes, TimeSpan elapsed) => bytes / 1048576.0 / elapsed.TotalSeconds;


    private static async Task<(TimeSpan Write, TimeSpan Read)> FileBaselineAsync(long bytes, string folder)
    {
        var path = Path.Combine(folder, "baseline.bin");
        var write = Stopwatch.StartNew();
        await using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.WriteThrough))
        {
            await new GeneratedStream(bytes, seed: 7).CopyToAsync(file, 4 << 20);
            file.Flush(flushToDisk: true);
        }

        write.Stop();
        var read = Stopwatch.StartNew();
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            await file.CopyToAsync(new HashingSink(), 4 << 20);
        read.Stop();
        File.Delete(path);
        return (write.Elapsed, read.Elapsed);
    }

    /// <summary>A read-only stream of pseudo-random bytes, produced on the fly so the client holds no copy.</summary>
    private sealed class GeneratedStream(long length, int seed) : Stream
    {
        private readonly Random _random = new(seed); // benchmark data, not cryptography
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            _random.NextBytes(buffer.AsSpan(offset, n));
            _position += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A write-only stream that only hashes and counts.</summary>
    private sealed class HashingSink : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Position;
        public override long Position { get; set; }

        public string Sha256() => Convert.ToHexStringLower(_hash.GetHashAndReset());

        public override void Write(byte[] buffer, int offset, int count)
        {
            _hash.AppendData(buffer, offset, count);
            Position += count;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _hash.AppendData(buffer.Span);
            Position += buffer.Length;
            return ValueTask.CompletedTask;
        }

        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
