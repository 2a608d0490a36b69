using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Smpc.Agent.SecureAggregation;
using Smpc.Client;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;
using Smpc.TestSupport;

namespace Smpc.Bench;

/// <summary>
/// Load on a real cluster started by deploy/local-cluster.sh (PostgreSQL, N silos, 2 gateways), at 1 and at 3 silos:
/// the control plane (modellers polling session status through both gateways while pods hold long polls for work:
/// requests/s, p50/p99, errors) and the data plane (concurrent secure-aggregation sessions: sessions/minute), with the
/// peak resident memory of every silo. The 1-silo run is the baseline the 3-silo run is compared with.
/// <c>dotnet run -c Release --project bench/Smpc.Bench -- cluster [--silos 1,3] [--clients 64] [--long-polls 100] [--seconds 20] [--sessions 20] [--pods 10] [--parameters 100000]</c>
/// </summary>
public static class ClusterLoadHarness
{
    public static async Task<int> RunAsync(string[] args)
    {
        var siloCounts = (BenchArgs.Arg(args, "--silos") ?? "1,3").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var clients = int.Parse(BenchArgs.Arg(args, "--clients") ?? "64", CultureInfo.InvariantCulture);
        var longPolls = int.Parse(BenchArgs.Arg(args, "--long-polls") ?? "100", CultureInfo.InvariantCulture);
        var seconds = int.Parse(BenchArgs.Arg(args, "--seconds") ?? "20", CultureInfo.InvariantCulture);
        var sessions = int.Parse(BenchArgs.Arg(args, "--sessions") ?? "20", CultureInfo.InvariantCulture);
        var pods = int.Parse(BenchArgs.Arg(args, "--pods") ?? "10", CultureInfo.InvariantCulture);
        var parameters = int.Parse(BenchArgs.Arg(args, "--parameters") ?? "100000", CultureInfo.InvariantCulture);
        var skipData = args.Contains("--control-only");

        Console.WriteLine($"# Cluster load: {Environment.ProcessorCount} cores; control plane {clients} status pollers + {longPolls} pod long polls for {seconds} s; " +
                          $"data plane {sessions} concurrent sessions of {pods} pods x {parameters:N0} parameters");
        var rows = new List<(int Silos, ControlResult Control, double? SessionsPerMinute, IReadOnlyList<string> Memory)>();
        foreach (var silos in siloCounts)
        {
            var env = new Dictionary<string, string>
            {
                ["SMPC_SILOS"] = silos.ToString(CultureInfo.InvariantCulture),
                ["SMPC_GATEWAYS"] = "2",
                ["Smpc__Gateway__RateLimit__RequestsPerSecond"] = "100000",
                ["Smpc__Gateway__RateLimit__Burst"] = "1000000",
                ["Logging__LogLevel__Default"] = "Warning",
            };
            await using var cluster = await LocalCluster.UpAsync(environment: env);
            var world = await World.CreateAsync(cluster, pods, Math.Max(clients, 1));
            var control = await ControlPlaneAsync(cluster, world, clients, longPolls, TimeSpan.FromSeconds(seconds));
            Console.WriteLine($"{silos} silo(s), control plane: {control.Requests / control.Elapsed.TotalSeconds,8:F0} req/s  p50 {control.P50:F2} ms  p99 {control.P99:F2} ms  errors {control.Errors}  long polls answered {control.LongPollsAnswered}");
            double? rate = null;
            if (!skipData)
            {
                var elapsed = await DataPlaneAsync(world, sessions, parameters);
                rate = sessions / elapsed.TotalMinutes;
                Console.WriteLine($"{silos} silo(s), data plane: {sessions} sessions in {elapsed.TotalSeconds:F1} s = {rate:F1} sessions/min");
            }

            var memory = cluster.Silos.Select(s => $"{s} {cluster.PeakResidentBytes(s) >> 20} MiB").Concat(cluster.Gateways.Select(g => $"{g} {cluster.PeakResidentBytes(g) >> 20} MiB")).ToList();
            Console.WriteLine($"{silos} silo(s), peak RSS: {string.Join(", ", memory)}");
            rows.Add((silos, control, rate, memory));
        }

        if (rows.Count > 1)
        {
            var first = rows[0];
            Console.WriteLine();
            foreach (var row in rows.Skip(1))
            {
                Console.WriteLine($"scaling {first.Silos} -> {row.Silos} silos: control plane req/s x{(row.Control.Requests / row.Control.Elapsed.TotalSeconds) / (first.Control.Requests / first.Control.Elapsed.TotalSeconds):F2}" +
                                  (row.SessionsPerMinute is { } r && first.SessionsPerMinute is { } f ? $", data plane sessions/min x{r / f:F2}" : ""));
            }
        }

        Console.WriteLine($"this process (all parties) peak RSS {BenchArgs.PeakRss() >> 20} MiB");
        return 0;
    }

    private sealed record ControlResult(long Requests, long Errors, TimeSpan Elapsed, double P50, double P99, long LongPollsAnswered);

    /// <summary>Status pollers (each its own modeller key, alternating gateways) measured; pod long polls held open meanwhile.</summary>
    private static async Task<ControlResult> ControlPlaneAsync(LocalCluster cluster, World world, int clients, int longPolls, TimeSpan duration)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 4096, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        using var stop = new CancellationTokenSource(duration);
        var gateways = cluster.GatewayUrls;
        long errors = 0, answered = 0;
        var kinds = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        void Error(string kind)
        {
            Interlocked.Increment(ref errors);
            kinds.AddOrUpdate(kind, 1, (_, n) => n + 1);
        }

        // Pods waiting for work: long polls of 5 s that are answered empty and renewed.
        var waiting = Enumerable.Range(0, longPolls).Select(async i =>
        {
            var pod = world.Pods[i % world.Pods.Count];
            var url = new Uri(gateways[i % gateways.Count], $"v1/tenants/{world.Tenant}/pods/{pod.Id}/sessions?after={Uri.EscapeDataString(world.Newest[pod.Id])}&waitSeconds=5");
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, url);
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", pod.Key);
                    using var response = await http.SendAsync(request, stop.Token);
                    if (response.IsSuccessStatusCode) Interlocked.Increment(ref answered); else Error("long poll " + (int)response.StatusCode);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
                catch (HttpRequestException ex) { Error("long poll " + ex.HttpRequestError); }
            }
        }).ToList();

        var clock = Stopwatch.StartNew();
        var pollers = Enumerable.Range(0, clients).Select(i => Task.Run(async () =>
        {
            var latencies = new List<double>(64 * 1024);
            var key = world.ModellerKeys[i % world.ModellerKeys.Count];
            var url = new Uri(gateways[i % gateways.Count], $"v1/tenants/{world.Tenant}/sessions/{world.StatusSessions[i % world.ModellerKeys.Count]}");
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, url);
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                    using var response = await http.SendAsync(request, stop.Token);
                    await response.Content.LoadIntoBufferAsync(stop.Token);
                    if (!response.IsSuccessStatusCode) Error("status " + (int)response.StatusCode);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested) { break; }
                catch (HttpRequestException ex) { Error("status " + ex.HttpRequestError); }
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            return latencies;
        })).ToList();

        var all = (await Task.WhenAll(pollers)).SelectMany(l => l).Order().ToArray();
        var elapsed = clock.Elapsed;
        await Task.WhenAll(waiting);
        if (!kinds.IsEmpty) Console.WriteLine("    errors: " + string.Join(", ", kinds.OrderBy(k => k.Key).Select(k => $"{k.Key} ×{k.Value}")));
        return new ControlResult(all.Length, errors, elapsed, Percentile(all, 0.50), Percentile(all, 0.99), answered);
    }

    /// <summary>Runs <paramref name="sessions"/> secure-aggregation sessions at once (every pod in every one); returns the time until all completed.</summary>
    private static async Task<TimeSpan> DataPlaneAsync(World world, int sessions, int parameters)
    {
        var random = new Random(11); // benchmark data, not cryptography
        var inputs = world.Pods.ToDictionary(p => p.Id, _ => Enumerable.Range(0, parameters).Select(_ => (random.NextDouble() * 2) - 1).ToArray());
        var spec = new AggregationRequest([new AggregationFieldRequest("theta", parameters, -1, 1)], "mean", "", "theta", PhaseTimeoutSeconds: 1800);
        var ids = world.Pods.Select(p => p.Id).ToArray();
        var clock = Stopwatch.StartNew();
        var runs = Enumerable.Range(0, sessions).Select(async s =>
        {
            var sessionId = $"load-{s}";
            var modellerClient = world.Client(world.ModellerKeys[s % world.ModellerKeys.Count], s);
            using var modeller = await ModellerAggregation.CreateAsync(modellerClient, world.Tenant, sessionId, world.ModellerIds[s % world.ModellerIds.Count], ids, spec);
            var runners = world.Pods.Select((p, i) => new SecureAggregationPodDriver(world.Client(p.Key, s + i), world.Tenant, sessionId, p.Id, p.Identity, _ => inputs[p.Id]).RunAsync()).ToList();
            var outcome = await modeller.WaitForResultAsync();
            await Task.WhenAll(runners);
            var expected = inputs.Values.Average(v => v[0]);
            if (Math.Abs(outcome.Values["theta"][0] - expected) > 1e-6) throw new InvalidOperationException($"session {sessionId}: wrong mean");
        }).ToList();
        await Task.WhenAll(runs);
        return clock.Elapsed;
    }

    private static double Percentile(double[] sorted, double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];

    /// <summary>One tenant: pods with identities, modellers, a few sessions to poll; clients over both gateways with retries.</summary>
    private sealed class World
    {
        public required string Tenant { get; init; }
        public required List<(string Id, string Key, Ed25519KeyPair Identity)> Pods { get; init; }
        public required List<string> ModellerIds { get; init; }
        public required List<string> ModellerKeys { get; init; }
        public required List<string> StatusSessions { get; init; }
        /// <summary>Per pod, the newest session it knows: its long polls wait with nothing new.</summary>
        public required Dictionary<string, string> Newest { get; init; }
        public required IReadOnlyList<Uri> Gateways { get; init; }

        public SmpcClient Client(string key, int first) =>
            new(new HttpClient(new TransientRetryHandler(new GatewayFailoverHandler(Gateways, first % Gateways.Count) { InnerHandler = new SocketsHttpHandler() }))
            { BaseAddress = Gateways[first % Gateways.Count], Timeout = TimeSpan.FromMinutes(10) }, key);

        public static async Task<World> CreateAsync(LocalCluster cluster, int pods, int modellers)
        {
            var gateways = cluster.GatewayUrls;
            var @operator = new SmpcClient(new HttpClient { BaseAddress = gateways[0], Timeout = TimeSpan.FromMinutes(2) }, cluster.OperatorKey);
            var created = await @operator.CreateTenantAsync(new CreateTenantRequest("load", "Load"));
            await @operator.SetTenantLimitsAsync("load", new TenantLimitsRequest(100_000, 1_000_000, MaxConcurrentSessions: 10_000));
            var admin = @operator.WithKey(created.AdminKey!.ApiKey);
            var podList = new List<(string, string, Ed25519KeyPair)>();
            for (var i = 1; i <= pods; i++)
            {
                var identity = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
                var registered = await admin.RegisterPodAsync("load", new RegisterPodRequest($"p{i}", $"p{i}", Convert.ToBase64String(identity.PublicKey)));
                podList.Add(($"p{i}", registered.ApiKey!.ApiKey, identity));
            }

            var modellerIds = new List<string>();
            var modellerKeys = new List<string>();
            for (var i = 1; i <= Math.Min(modellers, 32); i++)
            {
                var registered = await admin.RegisterModellerAsync("load", new RegisterModellerRequest($"m{i}", $"m{i}"));
                modellerIds.Add($"m{i}");
                modellerKeys.Add(registered.ApiKey!.ApiKey);
            }

            // Sessions whose status the modellers poll (spread over the silos by the grain placement): one per modeller, so
            // poller i polls session i with its owner's key.
            var statusSessions = new List<string>();
            for (var i = 0; i < modellerKeys.Count; i++)
            {
                var modeller = admin.WithKey(modellerKeys[i % modellerKeys.Count]);
                await modeller.CreateSessionAsync("load", new CreateSessionRequest($"status-{i}", modellerIds[i % modellerIds.Count], SessionKinds.SecureAggregation,
                    [.. podList.Take(3).Select(p => p.Item1)], new AggregationRequest([new AggregationFieldRequest("x", 3, -10, 10)], "mean", Convert.ToBase64String(new byte[32]), "x")));
                statusSessions.Add($"status-{i}");
            }

            var newest = new Dictionary<string, string>();
            foreach (var (id, key, _) in podList)
                newest[id] = (await admin.WithKey(key).ListPodSessionsAsync("load", id)).LastOrDefault() ?? "-";

            return new World
            {
                Tenant = "load",
                Pods = podList,
                ModellerIds = modellerIds,
                ModellerKeys = modellerKeys,
                StatusSessions = statusSessions,
                Newest = newest,
                Gateways = gateways,
            };
        }
    }
}
