using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Smpc.Agent.DataSources;
using Smpc.Client;
using Smpc.Client.Psi;
using Smpc.Contracts;
using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;
using Smpc.Protocols.Randomness;
using Smpc.Samples;
using Smpc.TestSupport;

namespace Smpc.Bench;

/// <summary>
/// End-to-end PSI through a real silo process (embedded, SQLite, co-hosted gateway) and a real pod agent process
/// (<c>smpc pod run</c>), with the modeller in this process: the pod holds <c>--pod</c> customers, the modeller
/// <c>--modeller</c>, <c>--overlap</c> in common (spelt differently). Baselines measured in the same run:
/// ecdh — the same group operations (hash-to-group and scalar multiplications of both sides) run bare on all cores;
/// rsa-blind — the signatures needed at the rate of <c>openssl speed -multi $(nproc) rsa2048</c>.
/// kkrt — both parties' computation run bare in this process on all cores. <c>--compare</c> runs more protocols on the same lists in
/// the same run and prints the speed-up; <c>--shape ids</c> matches one random id column instead of customers.
/// <c>dotnet run -c Release --project bench/Smpc.Bench -- psi [--protocol ecdh|rsa-blind|kkrt] [--compare ecdh,rsa-blind] [--shape customers|ids] [--pod 1000000] [--modeller 100000] [--overlap 10000]</c>
/// </summary>
public static class PsiHarness
{
    private const string OperatorKey = "smpc_op_bench-harness-operator-key";

    public static async Task<int> RunAsync(string[] args)
    {
        var protocol = BenchArgs.Arg(args, "--protocol") ?? PsiProtocolNames.Ecdh;
        var compare = (BenchArgs.Arg(args, "--compare") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var shape = BenchArgs.Arg(args, "--shape") ?? "customers";
        if (shape is not ("customers" or "ids")) throw new ArgumentException("--shape is customers or ids");
        var podRows = int.Parse(BenchArgs.Arg(args, "--pod") ?? "1000000", CultureInfo.InvariantCulture);
        var modellerRows = int.Parse(BenchArgs.Arg(args, "--modeller") ?? "100000", CultureInfo.InvariantCulture);
        var overlap = int.Parse(BenchArgs.Arg(args, "--overlap") ?? "10000", CultureInfo.InvariantCulture);
        var work = Path.Combine(Path.GetTempPath(), "smpc-psi-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        var planted = shape == "ids"
            ? IdLists.Write(Path.Combine(work, "modeller.csv"), Path.Combine(work, "pod.csv"), modellerRows, podRows, overlap)
            : CustomerListGenerator.Write(Path.Combine(work, "modeller.csv"), Path.Combine(work, "pod.csv"), modellerRows, podRows, overlap);
        Console.WriteLine($"# PSI intersection, {shape}, pod {podRows:N0} x modeller {modellerRows:N0}, {overlap:N0} in common; protocols {string.Join(", ", new[] { protocol }.Concat(compare))}; silo and pod agent are separate processes; {Environment.ProcessorCount} cores");

        var env = new Dictionary<string, string>
        {
            ["Smpc__DataDirectory"] = Path.Combine(work, "data"),
            ["Smpc__SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Smpc__GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Smpc__Gateway__OperatorKeySha256"] = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(OperatorKey))),
            ["Logging__LogLevel__Default"] = "Warning",
        };
        await using var silo = ServiceProcess.Start("silo", RepoPaths.Assembly("Silo", "Smpc.Silo"), FreePort.Next(), env);
        await silo.WaitUntilReadyAsync(TimeSpan.FromMinutes(2));
        var http = new HttpClient { BaseAddress = silo.BaseAddress, Timeout = TimeSpan.FromMinutes(30) };
        var @operator = new SmpcClient(http, OperatorKey);
        var admin = @operator.WithKey((await @operator.CreateTenantAsync(new CreateTenantRequest("bench", "Bench"))).AdminKey!.ApiKey);
        // The pod agent acts only on sessions the modeller signed with its registered identity key.
        var modellerIdentity = Smpc.Protocols.Crypto.Ed25519KeyPair.Generate(Smpc.Protocols.Randomness.SystemRandomSource.Instance);
        var modeller = admin.WithKey((await admin.RegisterModellerAsync("bench",
            new RegisterModellerRequest("m", "m", Convert.ToBase64String(modellerIdentity.PublicKey)))).ApiKey!.ApiKey).WithModellerIdentity(modellerIdentity);

        var cli = RepoPaths.Assembly("Cli", "smpc");
        var identity = Path.Combine(work, "pod.identity.json");
        var (exit, created) = await ServiceProcess.RunToCompletionAsync(cli, new Dictionary<string, string>(), "identity", "new", "--out", identity);
        if (exit != 0) throw new InvalidOperationException(created);
        var publicKey = JsonDocument.Parse(File.ReadAllText(identity)).RootElement.GetProperty("publicKey").GetString()!;
        var podKey = (await admin.RegisterPodAsync("bench", new RegisterPodRequest("pod", "pod", publicKey))).ApiKey!.ApiKey;
        var config = Path.Combine(work, "pod.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            url = silo.BaseAddress!.ToString(),
            tenant = "bench",
            pod = "pod",
            identityKeyFile = identity,
            stateDirectory = Path.Combine(work, "pod-state"),
            sources = new Dictionary<string, object> { ["customers"] = new { kind = "csv", path = "pod.csv" } },
            psi = new
            {
                protocols = new[] { PsiProtocolNames.Ecdh, PsiProtocolNames.RsaBlind, PsiProtocolNames.Kkrt },
                maxModellerSetSize = 200_000_000,
                maxModellerRecordsPerDay = 2_000_000_000,
            },
        }));
        await using var agent = ServiceProcess.Start("pod-agent", cli, null, new Dictionary<string, string> { ["SMPC_POD_KEY"] = podKey }, "pod", "run", "--config", config);

        List<PsiColumnRequest> mine, theirs;
        if (shape == "ids")
        {
            mine = [new PsiColumnRequest("id", "text")];
            theirs = [new PsiColumnRequest("id", "text")];
        }
        else
        {
            string[] columnKinds = ["text", "email", "phone"];
            mine = CustomerListGenerator.ModellerColumns.Skip(1).Zip(columnKinds, (n, k) => new PsiColumnRequest(n, k, k == "phone" ? "44" : null)).ToList();
            theirs = CustomerListGenerator.PodColumns.Skip(1).Take(3).Zip(columnKinds, (n, k) => new PsiColumnRequest(n, k, k == "phone" ? "44" : null)).ToList();
        }

        var ok = true;
        var results = new List<(string Protocol, double Seconds)>();
        foreach (var run in new[] { protocol }.Concat(compare))
        {
            ResetPeaks(silo.Pid, agent.Pid);
            var spec = new PsiRequest(PsiModeNames.Intersection, mine, theirs, "customers", 0, run, run == PsiProtocolNames.RsaBlind ? 2048 : null, 7200);
            var watch = Stopwatch.StartNew();
            var steps = new Dictionary<string, (double First, double Last)>();
            var progress = new SyncProgress(p =>
            {
                var step = p.Step.StartsWith("waiting", StringComparison.Ordinal) ? "waiting" : p.Step;
                var now = watch.Elapsed.TotalSeconds;
                steps[step] = steps.TryGetValue(step, out var t) ? (t.First, now) : (now, now);
            });
            var matches = Path.Combine(work, $"matches-{run}.csv");
            var outcome = await new PsiModellerRun(modeller, "bench", "m") { Progress = progress }.RunAsync($"bench-{run}", "pod", spec,
                RecordSources.Opener(new RecordSourceConfig { Kind = "csv", Path = "modeller.csv" }, work), matches);
            var total = watch.Elapsed.TotalSeconds;
            results.Add((run, total));
            Console.WriteLine($"## {run}");
            Console.WriteLine("modeller steps (first..last progress report, s): " + string.Join(", ", steps.Select(s => $"{s.Key} {s.Value.First:F1}..{s.Value.Last:F1}")));
            var found = File.ReadLines(matches).Skip(1).Select(l => l.Split(',')[0]).Order(StringComparer.Ordinal);
            var correct = found.SequenceEqual(planted);
            ok &= correct;
            var peaks = $"silo+gateway {silo.PeakResidentBytes() >> 20} MiB, pod agent {agent.PeakResidentBytes() >> 20} MiB, modeller (this process) {BenchArgs.PeakRss() >> 20} MiB";
            var elements = podRows + (2L * modellerRows);
            Console.WriteLine($"end to end: {total:F2} s, {outcome.Count:N0} matches ({(correct ? "exactly the planted ones" : "WRONG")}), {elements / total:N0} elements/s (pod set + 2 x modeller set)");
            var psi = outcome.Session.Psi!;
            var wire = WireBytes(run, psi);
            Console.WriteLine($"bytes through the service: {wire.Bytes:N0} ({wire.What}); {wire.Bytes * 8.0 / Math.Max(1, Math.Max(psi.ModellerSetSize, psi.PodSetSize ?? 0)):N0} bits per element of the larger set");
            var bound = run switch
            {
                PsiProtocolNames.Ecdh => EcdhBound(podRows, modellerRows),
                PsiProtocolNames.Kkrt => KkrtBound(psi.ModellerSetSize, psi.PodSetSize ?? podRows),
                _ => await RsaBoundAsync(podRows + (long)modellerRows),
            };
            Console.WriteLine($"crypto-only bound: {bound.Seconds:F2} s ({bound.What})");
            Console.WriteLine($"ratio end-to-end / crypto-only: {total / bound.Seconds:F2}");
            Console.WriteLine($"peak RSS during this run: {peaks}");
        }

        foreach (var line in agent.Output.Split('\n').Where(l => l.Contains("encoded", StringComparison.Ordinal) || l.Contains("answered", StringComparison.Ordinal) || l.Contains("kkrt", StringComparison.Ordinal)))
            Console.WriteLine($"pod agent: {line.Trim()}");
        if (results.Count > 1)
        {
            var first = results[0];
            foreach (var other in results.Skip(1))
                Console.WriteLine($"speed-up of {first.Protocol} over {other.Protocol} (same lists, same run): {other.Seconds / first.Seconds:F1}x ({first.Seconds:F2} s against {other.Seconds:F2} s)");
        }

        await agent.KillAsync();
        await silo.KillAsync();
        try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        return ok ? 0 : 1;
    }

    /// <summary>Resets the peak-RSS counters (VmHWM) of the processes, so each protocol's run reports its own peak (Linux clear_refs 5).</summary>
    private static void ResetPeaks(params int[] pids)
    {
        foreach (var pid in pids.Append(Environment.ProcessId))
        {
            try { File.WriteAllText($"/proc/{pid}/clear_refs", "5"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>What went through the service for the session (uploads; each is downloaded once more by the other party).</summary>
    private static (long Bytes, string What) WireBytes(string protocol, PsiStatusResponse psi)
    {
        var podSet = psi.PodSetSize ?? 0;
        switch (protocol)
        {
            case PsiProtocolNames.Kkrt:
                var setup = (long)KkrtParameters.SetupBytes;
                var query = KkrtParameters.QueryBytes(psi.ModellerSetSize);
                var reply = KkrtParameters.ReplyBytes(psi.ModellerSetSize, podSet);
                return (setup + query + reply, $"setup {setup:N0} + query {query:N0} + reply {reply:N0}");
            case PsiProtocolNames.Ecdh:
                return (32 * (podSet + (2 * psi.ModellerSetSize)), $"pod set {32 * podSet:N0} + query and reply {64 * psi.ModellerSetSize:N0}");
            default:
                var k = (psi.KeyBits ?? 2048) / 8;
                return ((32 * podSet) + (2L * k * psi.ModellerSetSize), $"pod set {32 * podSet:N0} + query and reply {2L * k * psi.ModellerSetSize:N0}");
        }
    }

    /// <summary>
    /// <c>psi-compute [--modeller N] [--pod N]</c>: kkrt's computation alone, step by step, in one process on all cores
    /// (random distinct digests; no records, no I/O), next to raw AES-CTR through OpenSSL over the same number of bytes as
    /// the modeller's two PRG matrices, measured in the same run.
    /// </summary>
    public static Task<int> ComputeAsync(string[] args)
    {
        var modellerSet = long.Parse(BenchArgs.Arg(args, "--modeller") ?? "1048576", CultureInfo.InvariantCulture);
        var podSet = long.Parse(BenchArgs.Arg(args, "--pod") ?? "1048576", CultureInfo.InvariantCulture);
        var steps = new List<(string Step, double Seconds)>();
        var run = RunKkrtParties(modellerSet, podSet, (step, seconds) => steps.Add((step, seconds)));
        var total = steps.Sum(s => s.Seconds);
        // Baseline: raw AES-128-CTR through OpenSSL (.NET Aes over counter blocks) for the bytes of the modeller's two matrices.
        var prgBytes = 2L * KkrtParameters.CodeBits * ((KkrtParameters.Bins(modellerSet) + 127) / 128) * 16;
        using var aes = System.Security.Cryptography.Aes.Create();
        aes.Key = RandomNumberGenerator.GetBytes(16);
        var buffer = new byte[1 << 20];
        var watch = Stopwatch.StartNew();
        for (long done = 0; done < prgBytes; done += buffer.Length) aes.EncryptEcb(buffer, buffer, System.Security.Cryptography.PaddingMode.None);
        var aesSeconds = watch.Elapsed.TotalSeconds;
        Console.WriteLine($"# kkrt computation, modeller {modellerSet:N0} x pod {podSet:N0} distinct items, {Environment.ProcessorCount} cores, one process, no I/O; {run.Matches:N0} matches");
        foreach (var (step, seconds) in steps) Console.WriteLine($"{step,-45} {seconds * 1000,10:F1} ms");
        Console.WriteLine($"{"total",-45} {total * 1000,10:F1} ms");
        Console.WriteLine($"baseline: OpenSSL AES-128 over {prgBytes >> 20:N0} MiB (the modeller's two PRG matrices) on one core: {aesSeconds * 1000:F1} ms");
        Console.WriteLine($"messages: setup {run.Setup:N0} B, query {run.Query:N0} B, reply {run.Reply:N0} B = {(run.Setup + run.Query + run.Reply) * 8.0 / Math.Max(modellerSet, podSet):N0} bits per element of the larger set");
        return Task.FromResult(0);
    }

    /// <summary>kkrt's whole protocol computation, bare, in this process on all cores: both parties on random distinct digests of the session's sizes.</summary>
    private static (double Seconds, string What) KkrtBound(long modellerSet, long podSet)
    {
        var seconds = 0.0;
        _ = RunKkrtParties(modellerSet, podSet, (_, lap) => seconds += lap);
        return (seconds, $"both parties' kkrt computation in one process on all cores, no I/O: {modellerSet:N0} x {podSet:N0} distinct items");
    }

    /// <summary>
    /// Runs both kkrt parties in this process on random distinct digests (the query passed in 1 MiB chunks of rows, as the
    /// drivers stream it), reporting each step's seconds to <paramref name="lap"/> (digest generation excluded).
    /// </summary>
    private static (long Matches, long Setup, long Query, long Reply) RunKkrtParties(long modellerSet, long podSet, Action<string, double> lap)
    {
        var mine = new byte[modellerSet * KkrtItems.DigestBytes];
        var theirs = new byte[podSet * KkrtItems.DigestBytes];
        RandomNumberGenerator.Fill(mine);
        RandomNumberGenerator.Fill(theirs);
        var watch = Stopwatch.StartNew();
        void Lap(string step)
        {
            lap(step, watch.Elapsed.TotalSeconds);
            watch.Restart();
        }

        using var receiver = new KkrtPsiReceiver(mine, SystemRandomSource.Instance);
        Lap("modeller: cuckoo table");
        using var sender = new KkrtPsiSender(modellerSet, SystemRandomSource.Instance);
        var setup = sender.CreateSetup();
        Lap("pod: setup (512 base-OT first messages)");
        receiver.ReadSetup(setup);
        var header = receiver.QueryHeader();
        Lap("modeller: base OTs (512)");
        sender.ReadQueryHeader(header);
        Lap("pod: base OTs (512)");
        const int chunk = 1 << 14;
        var rows = new byte[receiver.Bins * KkrtParameters.RowBytes];
        for (long bin = 0; bin < receiver.Bins; bin += chunk)
        {
            var count = (int)Math.Min(chunk, receiver.Bins - bin);
            receiver.WriteRows(bin, count, rows.AsSpan((int)(bin * KkrtParameters.RowBytes), count * KkrtParameters.RowBytes));
        }

        Lap($"modeller: query rows ({receiver.Bins:N0} bins)");
        for (long bin = 0; bin < receiver.Bins; bin += chunk)
        {
            var count = (int)Math.Min(chunk, receiver.Bins - bin);
            sender.ReadQueryRows(bin, rows.AsSpan((int)(bin * KkrtParameters.RowBytes), count * KkrtParameters.RowBytes));
        }

        sender.EndQuery();
        Lap("pod: read query rows");
        var reply = sender.Reply(theirs);
        Lap($"pod: reply ({podSet:N0} items x 3 tags)");
        var matches = receiver.Match(reply);
        Lap("modeller: match");
        return (matches.Count, setup.Length, header.Length + rows.LongLength, reply.LongLength);
    }

    /// <summary>The protocol's group operations, bare: pod encodes its set and answers, modeller blinds and unblinds.</summary>
    private static (double Seconds, string What) EcdhBound(int podRows, int modellerRows)
    {
        var records = Enumerable.Range(0, 1 << 16).Select(i => System.Text.Encoding.UTF8.GetBytes($"bench-record-{i:D8}-padding-to-a-typical-length@example.com")).ToArray();
        using var server = new EcdhPsiServer(PsiMode.Intersection, SystemRandomSource.Instance);
        using var client = new EcdhPsiClient(PsiMode.Intersection, SystemRandomSource.Instance);
        var watch = Stopwatch.StartNew();
        byte[] blinded = [];
        for (long done = 0; done < podRows; done += records.Length) _ = server.EncodeServerBatch(records);
        var hashMul = watch.Elapsed.TotalSeconds / Math.Ceiling(podRows / (double)records.Length) / records.Length;
        watch.Restart();
        blinded = client.BlindBatch(records);
        var responder = server.BeginQuery(records.Length);
        _ = client.FinalizeBatch(0, records, responder.Respond(blinded));
        var perModellerRecord = watch.Elapsed.TotalSeconds / records.Length;
        var seconds = (hashMul * podRows) + (perModellerRecord * modellerRows);
        return (seconds, $"libsodium on all cores: {1 / hashMul:N0} pod elements/s (OPRF Evaluate: hash + multiply + SHA-512), {1 / perModellerRecord:N0} modeller records/s (hash + 3 multiplies + a scalar inversion)");
    }

    /// <summary>The pod's signatures at OpenSSL's own multi-process signing rate.</summary>
    private static async Task<(double Seconds, string What)> RsaBoundAsync(long signatures)
    {
        var start = new ProcessStartInfo("openssl", $"speed -seconds 5 -multi {Environment.ProcessorCount} rsa2048") { RedirectStandardOutput = true, RedirectStandardError = true };
        using var openssl = Process.Start(start)!;
        var output = await openssl.StandardOutput.ReadToEndAsync() + await openssl.StandardError.ReadToEndAsync();
        await openssl.WaitForExitAsync();
        // "rsa 2048 bits 0.000139s 0.000004s   7194.2 264620.5" → sign/s is the third number.
        var line = output.Split('\n').Last(l => l.TrimStart().StartsWith("rsa 2048", StringComparison.Ordinal) || l.Contains("rsa  2048", StringComparison.Ordinal));
        var numbers = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(t => double.TryParse(t.TrimEnd('s'), NumberStyles.Float, CultureInfo.InvariantCulture, out _)).ToArray();
        var signPerSecond = double.Parse(numbers[^2], CultureInfo.InvariantCulture);
        return (signatures / signPerSecond, $"{signatures:N0} signatures at openssl speed -multi {Environment.ProcessorCount} rsa2048 = {signPerSecond:N0} sign/s");
    }

    private sealed class SyncProgress(Action<PsiProgress> report) : IProgress<PsiProgress>
    {
        private readonly Lock _gate = new();

        public void Report(PsiProgress value)
        {
            lock (_gate) report(value);
        }
    }


}
