using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Smpc.Agent;
using Smpc.Agent.DataSources;
using Smpc.Agent.Identity;
using Smpc.Agent.Query;
using Smpc.Client;
using Smpc.Client.Federated;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Query;
using Smpc.Samples;
using Smpc.TestSupport;

namespace Smpc.Bench;

/// <summary>
/// End-to-end federated SQL through a real silo process (embedded, SQLite, co-hosted gateway): <c>--pods</c> hospitals,
/// each a real <see cref="PodAgent"/> in this process over its own SQLite file of <c>--rows</c> admissions, and the
/// modeller (<see cref="FederatedQueryRun"/>, <see cref="HospitalAdmissions.AgeBandQuery"/>) in this process too.
/// The wall time is split with the client spans (pods' <c>query.execute</c> and <c>query.encode</c>, modeller's
/// <c>federated.round</c>). Baseline in the same run: the same SQL through the same executor and policy on one SQLite
/// file holding every pod's rows; the federated answer is checked against it.
/// <c>dotnet run -c Release --project bench/Smpc.Bench -- query [--pods 3] [--rows 1000000]</c>
/// </summary>
public static class QueryHarness
{
    private const string Tenant = "bench";
    private const string Source = "hospital";

    public static async Task<int> RunAsync(string[] args)
    {
        var podCount = int.Parse(BenchArgs.Arg(args, "--pods") ?? "3", CultureInfo.InvariantCulture);
        var rows = int.Parse(BenchArgs.Arg(args, "--rows") ?? "1000000", CultureInfo.InvariantCulture);
        if (podCount < 1 || rows < 1) throw new ArgumentException("--pods and --rows must be positive");
        var work = FederatedBench.WorkFolder("query");
        var pods = Enumerable.Range(1, podCount).Select(i => $"h{i}").ToArray();
        var policy = new QueryPolicy { Tables = new() { ["admissions"] = ["age", "ward", "length_of_stay"] }, MinRowsPerGroup = 5 };
        var query = HospitalAdmissions.AgeBandQuery(10);

        FederatedBench.Header($"federated SQL query: {podCount} pods x {rows:N0} admissions (SQLite), {nameof(HospitalAdmissions.AgeBandQuery)}(10) = 10 age bands x {HospitalAdmissions.Wards.Count} wards",
            $"dotnet run -c Release --project bench/Smpc.Bench -- query --pods {podCount} --rows {rows}");

        // Data: one SQLite file per pod, and the pooled file (all pods' rows) for the baseline. Not timed as part of anything.
        var prepare = Stopwatch.StartNew();
        await Parallel.ForEachAsync(pods.Select((p, i) => (Pod: p, Seed: 1000 + i)), async (p, _) =>
        {
            Directory.CreateDirectory(Path.Combine(work, p.Pod));
            await Task.Run(() => HospitalAdmissions.Write(Path.Combine(work, p.Pod, "hospital.db"), HospitalAdmissions.Generate(p.Seed, rows)));
        });
        var pooledPath = Path.Combine(work, "pooled.db");
        BuildPooled(pooledPath, pods.Select(p => Path.Combine(work, p, "hospital.db")).ToList());
        Console.WriteLine($"data: {podCount} pod files + pooled file of {(long)podCount * rows:N0} rows written in {prepare.Elapsed.TotalSeconds:F1} s (not measured)");

        await using var spans = new SpanRecorder();
        await using var service = await FederatedBench.StartServiceAsync(work);
        await using var agents = await service.StartPodsAsync(pods, (pod, config) => config with
        {
            Sources = new() { [Source] = new RecordSourceConfig { Kind = "sqlite", Path = "hospital.db" } },
            Query = policy,
        });

        var watch = Stopwatch.StartNew();
        var outcome = await FederatedQueryRun.RunAsync(service.Modeller, Tenant, "q-bench", FederatedBench.ModellerId, pods, query);
        var total = watch.Elapsed.TotalSeconds;
        var federatedRss = BenchArgs.PeakRss();
        if (outcome.Session.Phase != SessionPhases.Completed) throw new InvalidOperationException($"the query session ended {outcome.Session.Phase}");

        // Baseline: the pod executor on the pooled file (same SQL, shape and policy), and on one pod's file alone (no contention).
        var shape = QueryShape.Create(query, policy.MaxCells);
        watch.Restart();
        var pooled = await QueryExecutor.RunAsync(shape, query, Source, new RecordSourceConfig { Kind = "sqlite", Path = pooledPath }, policy, work);
        var pooledSeconds = watch.Elapsed.TotalSeconds;
        watch.Restart();
        _ = await QueryExecutor.RunAsync(shape, query, Source, new RecordSourceConfig { Kind = "sqlite", Path = Path.Combine(pods[0], "hospital.db") }, policy, work);
        var singlePodSeconds = watch.Elapsed.TotalSeconds;

        var trace = FederatedBench.TraceId(outcome.Session);
        var execute = spans.Durations("query.execute", trace);
        var encodeByRound = spans.Snapshot("query.encode", trace).GroupBy(s => s.Tag("smpc.round") ?? "?").ToDictionary(g => g.Key, g => g.Max(s => s.Seconds));
        var rounds = spans.Snapshot("federated.round", trace).ToDictionary(s => s.Tag("smpc.round") ?? "?", s => s.Seconds);
        var channel = spans.Durations("federated.open_channel", trace).DefaultIfEmpty(0).Sum();
        var release = spans.Durations("federated.release", trace).DefaultIfEmpty(0).Sum();
        var aggregation = rounds.Values.Sum();
        var encoding = encodeByRound.Values.Sum();
        var sql = execute.DefaultIfEmpty(0).Max();

        Console.WriteLine();
        Console.WriteLine("phase" + new string(' ', 78) + "seconds   share");
        Row("federated query, wall time (FederatedQueryRun.RunAsync)", total, total);
        Row($"  local SQL: query.execute, max over {execute.Count} pods (mean {execute.DefaultIfEmpty(0).Average():F3})", sql, total);
        Row("  channel open: federated.open_channel (pods find the session, run SQL, join)", channel, total);
        Row($"  aggregation: federated.round on the modeller, {rounds.Count} rounds summed", aggregation, total);
        foreach (var (round, seconds) in rounds) Row($"    round '{round}'", seconds, total);
        Row("    of which encoding: query.encode, max over pods per round, summed", encoding, total);
        Row("  release of the pooled counts: federated.release on the modeller", release, total);
        Row("  rest: session create, finish, result table", total - channel - aggregation - release, total);
        Row("baseline: pooled SQL, QueryExecutor on one file of all rows", pooledSeconds, total);
        Row("context: one pod's file alone, same executor (no other pod running)", singlePodSeconds, total);
        Console.WriteLine();
        Console.WriteLine($"ratio federated wall time / pooled SQL: {total / pooledSeconds:F2}");
        Console.WriteLine($"ratio local SQL (max over pods)  / pooled SQL: {sql / pooledSeconds:F2}   (pods run concurrently on {Environment.ProcessorCount} cores; one pod alone: {singlePodSeconds / pooledSeconds:F2})");

        var (verified, detail) = Verify(outcome.Table, pooled);
        var withheld = outcome.Table.Rows.Count(r => r.Withheld);
        Console.WriteLine($"answer: {outcome.Table.Rows.Count} cells ({withheld} withheld, {outcome.Table.Rows.Count(r => r.SuppressedOn > 0)} suppressed on some pod), {outcome.Table.Rows.Sum(r => (long)(r.Values[0] ?? 0)):N0} patients");
        Console.WriteLine(verified ? $"verified: {detail}" : $"NOT VERIFIED: {detail}");
        Console.WriteLine($"peak RSS: silo + co-hosted gateway {service.Silo.PeakResidentBytes() >> 20} MiB; this process (modeller and all {podCount} pod agents) {federatedRss >> 20} MiB, {BenchArgs.PeakRss() >> 20} MiB after the baselines");
        await agents.DisposeAsync();
        await service.DisposeAsync();
        FederatedBench.Delete(work);
        return verified ? 0 : 1;
    }

    private static void Row(string label, double seconds, double total) =>
        Console.WriteLine($"{label,-80} {seconds,7:F3}  {seconds / total,6:P0}");

    /// <summary>Creates the pooled database (same schema) and copies every pod's rows into it inside SQLite.</summary>
    private static void BuildPooled(string path, IReadOnlyList<string> podFiles)
    {
        HospitalAdmissions.Write(path, []);
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        foreach (var file in podFiles)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "ATTACH DATABASE $file AS pod; "
                + "INSERT INTO admissions (age, ward, length_of_stay, admitted) SELECT age, ward, length_of_stay, admitted FROM pod.admissions; "
                + "DETACH DATABASE pod;";
            command.Parameters.AddWithValue("$file", file);
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Every cell's pooled count equals the pooled SQL's; released sums and means match too.</summary>
    private static (bool Ok, string Detail) Verify(QueryResultTable table, PodQueryResult pooled)
    {
        int countIndex = -1, sumIndex = -1, meanIndex = -1;
        for (var i = 0; i < table.Aggregates.Count; i++)
        {
            switch (table.Aggregates[i].Kind)
            {
                case QueryAggregateKind.Count: countIndex = i; break;
                case QueryAggregateKind.Sum: sumIndex = i; break;
                case QueryAggregateKind.Mean: meanIndex = i; break;
            }
        }

        var problems = new List<string>();
        var checkedValues = 0;
        foreach (var row in table.Rows)
        {
            var expectedCount = pooled.Counts[0][row.Cell];
            var expectedSum = pooled.Sums[0][row.Cell];
            var actual = (long)(row.Values[countIndex] ?? -1);
            if (actual != expectedCount)
            {
                problems.Add($"cell {string.Join('/', row.Keys)}: count {actual} vs pooled {expectedCount}{(row.SuppressedOn > 0 ? $" (suppressed on {row.SuppressedOn} pods)" : "")}");
                continue;
            }

            if (row.Withheld) continue;
            var sum = row.Values[sumIndex] ?? double.NaN;
            var mean = row.Values[meanIndex] ?? double.NaN;
            if (Math.Abs(sum - expectedSum) > 0.01 + (1e-9 * expectedSum)) problems.Add($"cell {string.Join('/', row.Keys)}: sum {sum} vs pooled {expectedSum}");
            if (expectedCount > 0 && Math.Abs(mean - (expectedSum / expectedCount)) > 1e-3) problems.Add($"cell {string.Join('/', row.Keys)}: mean {mean} vs pooled {expectedSum / expectedCount}");
            checkedValues++;
        }

        return problems.Count == 0
            ? (true, $"all {table.Rows.Count} counts equal the pooled SQL's; sums and means of the {checkedValues} released cells match")
            : (false, string.Join("; ", problems.Take(5)) + (problems.Count > 5 ? $" (+{problems.Count - 5} more)" : ""));
    }
}

/// <summary>What the federated harnesses share: arguments, machine facts, the silo process, tenant, pods and peak RSS.</summary>
internal static class FederatedBench
{
    public const string OperatorKey = "smpc_op_bench-harness-operator-key";
    public const string ModellerId = "m";



    public static string WorkFolder(string verb)
    {
        var work = Path.Combine(Path.GetTempPath(), $"smpc-{verb}-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        return work;
    }

    public static void Delete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The title, machine facts and the command that reproduces the run.</summary>
    public static void Header(string title, string command)
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var memory = File.Exists("/proc/meminfo")
            ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]
            : null;
        var gib = long.TryParse(memory, CultureInfo.InvariantCulture, out var kib) ? $"{kib / 1048576.0:F0} GiB RAM" : "RAM unknown";
        Console.WriteLine($"# {title}");
        Console.WriteLine($"# silo (embedded, SQLite, co-hosted REST) is a separate process; the pod agents and the modeller run in this process");
        Console.WriteLine($"# {Environment.ProcessorCount} cores ({cpu ?? RuntimeInformation.ProcessArchitecture.ToString()}), {gib}, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, {(Debugger.IsAttached ? "debugger attached" : "no debugger")}");
        Console.WriteLine($"# reproduce: {command}");
    }

    /// <summary>Starts the silo process (as the psi harness does) and creates the tenant, its admin and the modeller.</summary>
    public static async Task<BenchService> StartServiceAsync(string work)
    {
        var env = new Dictionary<string, string>
        {
            ["Smpc__DataDirectory"] = Path.Combine(work, "data"),
            ["Smpc__SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Smpc__GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Smpc__Gateway__OperatorKeySha256"] = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(OperatorKey))),
            ["Logging__LogLevel__Default"] = "Warning",
        };
        var silo = ServiceProcess.Start("silo", RepoPaths.Assembly("Silo", "Smpc.Silo"), FreePort.Next(), env);
        try
        {
            await silo.WaitUntilReadyAsync(TimeSpan.FromMinutes(2));
            var http = new HttpClient { BaseAddress = silo.BaseAddress, Timeout = TimeSpan.FromMinutes(10) };
            var @operator = new SmpcClient(http, OperatorKey);
            var admin = @operator.WithKey((await @operator.CreateTenantAsync(new CreateTenantRequest("bench", "Bench"))).AdminKey!.ApiKey);
            // The pods' agents act only on sessions the modeller signed with its registered identity key.
            var modellerIdentity = Smpc.Protocols.Crypto.Ed25519KeyPair.Generate(Smpc.Protocols.Randomness.SystemRandomSource.Instance);
            var modeller = admin.WithKey((await admin.RegisterModellerAsync("bench",
                new RegisterModellerRequest(ModellerId, "Modeller", Convert.ToBase64String(modellerIdentity.PublicKey)))).ApiKey!.ApiKey).WithModellerIdentity(modellerIdentity);
            return new BenchService(silo, admin, modeller, work);
        }
        catch
        {
            await silo.DisposeAsync();
            throw;
        }
    }

    /// <summary>The trace id of <paramref name="session"/> (every party's spans of it share it), or null.</summary>
    public static ActivityTraceId? TraceId(SessionResponse session) =>
        ActivityContext.TryParse(session.TraceParent, null, out var context) ? context.TraceId : null;
}

/// <summary>The silo process with the bench tenant's admin and modeller clients.</summary>
internal sealed class BenchService(ServiceProcess silo, SmpcClient admin, SmpcClient modeller, string work) : IAsyncDisposable
{
    private bool _disposed;

    public ServiceProcess Silo { get; } = silo;

    public SmpcClient Modeller { get; } = modeller;

    /// <summary>
    /// Registers each pod with a fresh identity key file and starts a real <see cref="PodAgent"/> for it in this process
    /// (as <c>smpc pod run</c> would on the pod's machine), with its own folder under the work folder; <paramref name="configure"/>
    /// adds sources and policy (paths relative to the pod's folder).
    /// </summary>
    public async Task<BenchPods> StartPodsAsync(IReadOnlyList<string> pods, Func<string, PodAgentConfig, PodAgentConfig> configure)
    {
        var result = new BenchPods();
        foreach (var pod in pods)
        {
            var folder = Path.Combine(work, pod);
            Directory.CreateDirectory(folder);
            using var identity = IdentityKeyFile.Create(Path.Combine(folder, "identity.key"));
            var registered = await admin.RegisterPodAsync("bench", new RegisterPodRequest(pod, pod, Convert.ToBase64String(identity.PublicKey)));
            var config = configure(pod, new PodAgentConfig
            {
                Url = Silo.BaseAddress!.ToString(), Tenant = "bench", Pod = pod, ApiKey = registered.ApiKey!.ApiKey, IdentityKeyFile = "identity.key",
            });
            var client = admin.WithKey(registered.ApiKey.ApiKey);
            result.Start(new PodAgent(config, folder, client, line => result.Log.Enqueue($"{pod}: {line}")));
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await Silo.DisposeAsync();
    }
}

/// <summary>Running pod agents; disposing stops them.</summary>
internal sealed class BenchPods : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _agents = [];
    private bool _disposed;

    /// <summary>Every agent's log lines, prefixed by its pod.</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    public void Start(PodAgent agent) => _agents.Add(Task.Run(() => agent.RunAsync(_stop.Token)));

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _stop.CancelAsync();
        await Task.WhenAll(_agents).WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }
}

/// <summary>Records every finished span of the "Smpc.Client" activity source in this process (pods and modeller alike).</summary>
internal sealed class SpanRecorder : IAsyncDisposable
{
    // Not SmpcClient.Activity.Name: the listener is asked about that source while SmpcClient's type initializer runs.
    private const string SourceName = "Smpc.Client";
    private readonly ConcurrentQueue<Span> _spans = new();
    private readonly ActivityListener _listener;

    public SpanRecorder()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => _spans.Enqueue(new Span(a.OperationName, a.TraceId, a.Duration.TotalSeconds, a.StartTimeUtc, [.. a.TagObjects])),
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>The spans called <paramref name="name"/> (of <paramref name="trace"/>, when given), in start order.</summary>
    public List<Span> Snapshot(string name, ActivityTraceId? trace) =>
        [.. _spans.Where(s => s.Name == name && (trace is null || s.Trace == trace)).OrderBy(s => s.Start)];

    public List<double> Durations(string name, ActivityTraceId? trace) => [.. Snapshot(name, trace).Select(s => s.Seconds)];

    public ValueTask DisposeAsync()
    {
        _listener.Dispose();
        return ValueTask.CompletedTask;
    }

    internal sealed record Span(string Name, ActivityTraceId Trace, double Seconds, DateTime Start, KeyValuePair<string, object?>[] Tags)
    {
        public string? Tag(string key) =>
            Tags.FirstOrDefault(t => t.Key == key).Value is { } value ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;
    }
}
