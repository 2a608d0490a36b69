using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Smpc.Agent.DataSources;
using Smpc.Client;
using Smpc.Client.Psi;
using Smpc.Contracts;
using Smpc.Protocols.PrivateSetIntersection;
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
/// <c>dotnet run -c Release --project bench/Smpc.Bench -- psi [--protocol ecdh|rsa-blind] [--pod 1000000] [--modeller 100000] [--overlap 10000]</c>
/// </summary>
public static class PsiHarness
{
    private const string OperatorKey = "smpc_op_bench-harness-operator-key";

    public static async Task<int> RunAsync(string[] args)
    {
        var protocol = BenchArgs.Arg(args, "--protocol") ?? PsiProtocolNames.Ecdh;
        var podRows = int.Parse(BenchArgs.Arg(args, "--pod") ?? "1000000", CultureInfo.InvariantCulture);
        var modellerRows = int.Parse(BenchArgs.Arg(args, "--modeller") ?? "100000", CultureInfo.InvariantCulture);
        var overlap = int.Parse(BenchArgs.Arg(args, "--overlap") ?? "10000", CultureInfo.InvariantCulture);
        var work = Path.Combine(Path.GetTempPath(), "smpc-psi-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        var planted = CustomerListGenerator.Write(Path.Combine(work, "modeller.csv"), Path.Combine(work, "pod.csv"), modellerRows, podRows, overlap);
        Console.WriteLine($"# PSI {protocol} intersection, pod {podRows:N0} x modeller {modellerRows:N0}, {overlap:N0} in common; silo and pod agent are separate processes; {Environment.ProcessorCount} cores");

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
            psi = new { maxModellerSetSize = 10_000_000 },
        }));
        await using var agent = ServiceProcess.Start("pod-agent", cli, null, new Dictionary<string, string> { ["SMPC_POD_KEY"] = podKey }, "pod", "run", "--config", config);

        string[] columnKinds = ["text", "email", "phone"];
        var mine = CustomerListGenerator.ModellerColumns.Skip(1).Zip(columnKinds, (n, k) => new PsiColumnRequest(n, k, k == "phone" ? "44" : null)).ToList();
        var theirs = CustomerListGenerator.PodColumns.Skip(1).Take(3).Zip(columnKinds, (n, k) => new PsiColumnRequest(n, k, k == "phone" ? "44" : null)).ToList();
        var spec = new PsiRequest(PsiModeNames.Intersection, mine, theirs, "customers", 0, protocol, protocol == PsiProtocolNames.RsaBlind ? 2048 : null, 3600);
        var watch = Stopwatch.StartNew();
        var steps = new Dictionary<string, (double First, double Last)>();
        var progress = new SyncProgress(p =>
        {
            var step = p.Step.StartsWith("waiting", StringComparison.Ordinal) ? "waiting" : p.Step;
            var now = watch.Elapsed.TotalSeconds;
            steps[step] = steps.TryGetValue(step, out var t) ? (t.First, now) : (now, now);
        });
        var outcome = await new PsiModellerRun(modeller, "bench", "m") { Progress = progress }.RunAsync("bench-1", "pod", spec,
            RecordSources.Opener(new RecordSourceConfig { Kind = "csv", Path = "modeller.csv" }, work), Path.Combine(work, "matches.csv"));
        var total = watch.Elapsed.TotalSeconds;
        Console.WriteLine("modeller steps (first..last progress report, s): " + string.Join(", ", steps.Select(s => $"{s.Key} {s.Value.First:F1}..{s.Value.Last:F1}")));
        var found = File.ReadLines(Path.Combine(work, "matches.csv")).Skip(1).Select(l => l.Split(',')[0]).Order(StringComparer.Ordinal);
        var correct = found.SequenceEqual(planted);
        var agentLog = agent.Output;
        var peaks = $"silo+gateway {silo.PeakResidentBytes() >> 20} MiB, pod agent {agent.PeakResidentBytes() >> 20} MiB, modeller (this process) {BenchArgs.PeakRss() >> 20} MiB";
        await agent.KillAsync();
        await silo.KillAsync();

        var elements = podRows + (2L * modellerRows);
        Console.WriteLine($"end to end: {total:F1} s, {outcome.Count:N0} matches ({(correct ? "exactly the planted ones" : "WRONG")}), {elements / total:N0} elements/s (pod set + 2 x modeller set)");
        var bound = protocol == PsiProtocolNames.Ecdh ? EcdhBound(podRows, modellerRows) : await RsaBoundAsync(podRows + (long)modellerRows);
        Console.WriteLine($"crypto-only bound: {bound.Seconds:F1} s ({bound.What})");
        Console.WriteLine($"ratio end-to-end / crypto-only: {total / bound.Seconds:F2} (goal <= 1.5)");
        Console.WriteLine($"peak RSS: {peaks}");
        foreach (var line in agentLog.Split('\n').Where(l => l.Contains("encoded", StringComparison.Ordinal) || l.Contains("answered", StringComparison.Ordinal)))
            Console.WriteLine($"pod agent: {line.Trim()}");
        try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        return correct ? 0 : 1;
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
