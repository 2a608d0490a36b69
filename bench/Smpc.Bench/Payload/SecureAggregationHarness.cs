using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Smpc.Agent.SecureAggregation;
using Smpc.Client;
using Smpc.Client.Identity;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecureAggregation;
using Smpc.TestSupport;

namespace Smpc.Bench;

/// <summary>
/// End-to-end secure aggregation through a real silo process and its REST gateway: n pods × L float parameters.
/// Baseline in the same run: the same choreography through the same endpoints with the pods uploading their encoded
/// vectors unmasked and the modeller decoding the sum directly, so the ratio isolates the cost of masking and unmasking.
/// <c>dotnet run -c Release --project bench/Smpc.Bench -- secagg [--pods 10] [--elements 1000000] [--dropouts 3] [--deadline 15] [--only secure]</c>
/// (<c>--only secure</c> runs the secure round alone: large vectors and many pods, where the silo's peak RSS and the round's time are the point).
/// <c>--masking-pods K</c> (default 2 with <c>--only secure</c>, otherwise all pods so that the ratio compares like with like) lets at most K pods hold their vectors at once: a pod takes a place when it draws its input
/// to mask it and gives it back when its masked-input upload is accepted, so this process's peak follows K vectors, not n
/// (the production pod path, <see cref="SecureAggregationPodDriver"/>, masks and uploads a whole vector). <c>--phase-timeout S</c>
/// (default 600) is each phase's deadline: with K &lt; n the masked-input phase lasts n / K maskings and uploads.
/// The result is checked on every element against the pods' inputs regenerated and summed chunk by chunk.
/// </summary>
public static class SecureAggregationHarness
{
    private const string OperatorKey = "smpc_op_bench-harness-operator-key";

    public static async Task<int> RunAsync(string[] args)
    {
        var pods = int.Parse(BenchArgs.Arg(args, "--pods") ?? "10", CultureInfo.InvariantCulture);
        var elements = int.Parse(BenchArgs.Arg(args, "--elements") ?? "1000000", CultureInfo.InvariantCulture);
        var dropouts = int.Parse(BenchArgs.Arg(args, "--dropouts") ?? "3", CultureInfo.InvariantCulture);
        var data = Path.Combine(Path.GetTempPath(), "smpc-secagg-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var env = new Dictionary<string, string>
        {
            ["Smpc__DataDirectory"] = data,
            ["Smpc__SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Smpc__GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Smpc__Gateway__OperatorKeySha256"] = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(OperatorKey))),
            ["Logging__LogLevel__Default"] = "Warning",
        };
        await using var silo = ServiceProcess.Start("silo", RepoPaths.Assembly("Silo", "Smpc.Silo"), FreePort.Next(), env);
        await silo.WaitUntilReadyAsync(TimeSpan.FromMinutes(2));

        var counter = new ByteCounter();
        var http = new HttpClient(counter) { BaseAddress = silo.BaseAddress, Timeout = TimeSpan.FromMinutes(10) };
        var @operator = new SmpcClient(http, OperatorKey);
        var admin = @operator.WithKey((await @operator.CreateTenantAsync(new CreateTenantRequest("bench", "Bench"))).AdminKey!.ApiKey);
        var names = Enumerable.Range(1, pods).Select(i => $"p{i}").ToArray();
        var identities = new Dictionary<string, Ed25519KeyPair>();
        var clients = new Dictionary<string, SmpcClient>();
        foreach (var name in names)
        {
            identities[name] = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
            clients[name] = admin.WithKey((await admin.RegisterPodAsync("bench", new RegisterPodRequest(name, name, Convert.ToBase64String(identities[name].PublicKey)))).ApiKey!.ApiKey);
        }

        // The modeller signs each session; every pod verifies the signature against the pinned identity on every copy it acts on.
        var modellerIdentity = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        var modeller = admin.WithKey((await admin.RegisterModellerAsync("bench",
            new RegisterModellerRequest("m", "m", Convert.ToBase64String(modellerIdentity.PublicKey)))).ApiKey!.ApiKey).WithModellerIdentity(modellerIdentity);
        // Inputs are regenerated from a seed per pod when a party asks for them, so the harness holds no more of them than it must.
        var inputs = new PodInputs(elements);
        var deadline = int.Parse(BenchArgs.Arg(args, "--deadline") ?? "15", CultureInfo.InvariantCulture);
        var phaseTimeout = int.Parse(BenchArgs.Arg(args, "--phase-timeout") ?? "600", CultureInfo.InvariantCulture);
        var only = BenchArgs.Arg(args, "--only");
        // The comparison rounds keep every pod masking at once (the ratio's meaning); the secure round alone, for large vectors, bounds them.
        var maskingPods = BenchArgs.Arg(args, "--masking-pods") is { } k ? int.Parse(k, CultureInfo.InvariantCulture) : only == "secure" ? 2 : pods;
        var gate = new MaskingGate(maskingPods);
        // Pods waiting for a place block a pool thread inside the driver's synchronous input callback: keep threads for the rest.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, pods + 16), io);
        var podClients = names.ToDictionary(n => n, n => new SmpcClient(
            new HttpClient(new MaskingGate.Releaser(gate, n) { InnerHandler = counter }) { BaseAddress = silo.BaseAddress, Timeout = TimeSpan.FromMinutes(30) },
            clients[n].ApiKey));
        var verifiers = names.ToDictionary(n => n, n => new ModellerVerifier(podClients[n], new PinStore(null, notice: _ => { })));
        var spec = new AggregationRequest([new AggregationFieldRequest("theta", elements, -1, 1)], "mean", "", "theta", PhaseTimeoutSeconds: phaseTimeout);

        Console.WriteLine($"# Secure aggregation, {pods} pods x {elements:N0} float parameters, embedded silo (SQLite) on loopback; at most {maskingPods} pods hold vectors at once");
        // Where the time goes: the client-side step spans of the pods and the modeller, summed per step.
        var steps = new System.Collections.Concurrent.ConcurrentDictionary<string, double>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SmpcClient.Activity.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a => steps.AddOrUpdate(a.OperationName, a.Duration.TotalMilliseconds, (_, total) => total + a.Duration.TotalMilliseconds),
        };
        ActivitySource.AddActivityListener(listener);
        var rounds = new List<(string Name, TimeSpan Time, long Bytes)>();
        foreach (var (label, masked, lost) in new[] { ("baseline (unmasked, same endpoints)", false, 0), ("secure aggregation", true, 0),
                     ($"baseline, {dropouts} dropouts", false, dropouts), ($"secure aggregation, {dropouts} dropouts", true, dropouts) }
                     .Where(r => only != "secure" || (r.Item2 && r.Item3 == 0)))
        {
            counter.Reset();
            steps.Clear();
            var sessionId = $"r{rounds.Count}";
            var clock = Stopwatch.StartNew();
            // Full rounds close each phase as soon as every pod acted; dropout rounds wait out one deadline for the lost pods.
            var roundSpec = lost == 0 ? spec : spec with { PhaseTimeoutSeconds = deadline };
            var result = await RoundAsync(modeller, podClients, verifiers, identities, names, inputs, gate, roundSpec, sessionId, masked, lost);
            clock.Stop();
            var check = inputs.MaxErrorOfMean(names.Take(pods - lost).ToArray(), result);
            rounds.Add((label, clock.Elapsed, counter.PodBytes / pods));
            Console.WriteLine($"{label,-40} {clock.Elapsed.TotalSeconds,7:F2} s   wire per pod {counter.PodBytes / (double)pods / 1048576,7:F1} MiB   max |error| {check:E1}");
            if (masked) Console.WriteLine("    client step time, summed over parties (ms): " + string.Join(", ", steps.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value:F0}")));
        }

        var raw = elements * 8.0;
        Console.WriteLine();
        if (only == "secure")
        {
            Console.WriteLine($"peak RSS: silo + co-hosted gateway {silo.PeakResidentBytes() >> 20} MiB; this process (modeller and all {pods} pods) {BenchArgs.PeakRss() >> 20} MiB");
            await silo.KillAsync();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
            return 0;
        }

        var wait = TimeSpan.FromSeconds(deadline);
        Console.WriteLine($"ratio secure / baseline: {rounds[1].Time / rounds[0].Time:F2} (goal <= 1.3)");
        Console.WriteLine($"with {dropouts} dropouts, net of the {deadline}-s deadline each round waits out: {(rounds[3].Time - wait).TotalSeconds:F2} s vs {(rounds[2].Time - wait).TotalSeconds:F2} s, ratio {(rounds[3].Time - wait) / (rounds[2].Time - wait):F2}");
        Console.WriteLine($"bytes on the wire per pod / raw vector (8 B/element): {rounds[1].Bytes / raw:F2} (float32 raw: {rounds[1].Bytes / (elements * 4.0):F2})");
        Console.WriteLine($"peak RSS: silo + co-hosted gateway {silo.PeakResidentBytes() >> 20} MiB; this process (modeller and all {pods} pods) {BenchArgs.PeakRss() >> 20} MiB");
        await silo.KillAsync();
        try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        return 0;
    }

    /// <summary>One round; the last <paramref name="lost"/> pods stop after the share exchange. Returns the mean as the modeller computed it.</summary>
    private static async Task<double[]> RoundAsync(
        SmpcClient modeller, Dictionary<string, SmpcClient> clients, Dictionary<string, ModellerVerifier> verifiers, Dictionary<string, Ed25519KeyPair> identities, string[] names,
        PodInputs inputs, MaskingGate gate, AggregationRequest spec, string sessionId, bool masked, int lost)
    {
        using var aggregation = await ModellerAggregation.CreateAsync(modeller, "bench", sessionId, "m", names, spec);
        var stayers = names.Length - lost;
        if (masked)
        {
            var runners = names.Select((n, i) => new SecureAggregationPodDriver(clients[n], "bench", sessionId, n, identities[n], _ => gate.Draw(n, () => inputs[n]))
            {
                PollInterval = TimeSpan.FromMilliseconds(20),
                Verifier = verifiers[n],
                StopAfter = i < stayers ? PodStep.None : PodStep.Shares,
            }.RunAsync()).ToList();
            var outcome = await aggregation.WaitForResultAsync();
            await Task.WhenAll(runners);
            return outcome.Values["theta"];
        }

        // Baseline: same steps and endpoints; the vector goes up encoded but unmasked, and the sum is decoded as is.
        var session = aggregation.Session;
        var parameters = AggregationSession.Parameters(session);
        var pins = await AggregationSession.PinsAsync(modeller, session, AggregationSession.EphemeralPins(_ => { }), default);
        var parties = names.Select((n, i) => new SecureAggregationParty(parameters, i + 1, identities[n], SystemRandomSource.Instance, pins)).ToArray();
        await Task.WhenAll(names.Select((n, i) => clients[n].SubmitKeyBundleAsync("bench", sessionId, parties[i].CreateKeyBundle().ToBytes())));
        var bundles = (await clients[names[0]].GetKeyBundlesAsync("bench", sessionId)).Select(b => KeyBundle.Parse(b)).ToList();
        await Task.WhenAll(names.Select((n, i) => clients[n].SubmitShareEnvelopesAsync("bench", sessionId, parties[i].CreateShareEnvelopes(bundles).Select(e => e.ToBytes()))));
        await Task.WhenAll(names.Take(stayers).Select(async (n, i) =>
        {
            await clients[n].GetShareEnvelopesAsync("bench", sessionId);
            await clients[n].SubmitMaskedInputAsync("bench", sessionId, parameters.Codec.Encode(gate.Draw(n, () => inputs[n])));
        }));
        while ((await modeller.GetSessionAsync("bench", sessionId)).Phase != SessionPhases.Unmasking) await Task.Delay(20);
        await clients[names[0]].GetUnmaskRequestAsync("bench", sessionId);
        // The service checks only a response's structure; the baseline modeller never opens them (no masks to remove).
        await Task.WhenAll(names.Take(stayers).Select((n, i) => clients[n].SubmitUnmaskResponseAsync("bench", sessionId,
            new UnmaskResponse(session.Aggregation!.ProtocolSessionId, i + 1, RandomNumberGenerator.GetBytes(64 * names.Length)).ToBytes())));
        var sum = await modeller.GetMaskedSumAsync("bench", sessionId);
        foreach (var p in parties) p.Dispose();
        return [.. parameters.Codec.Decode(sum).Select(v => v / stayers)];
    }



    /// <summary>Each pod's input in [−1, 1), drawn from a per-pod seed whenever it is asked for (benchmark data, not cryptography).</summary>
    private sealed class PodInputs(int elements)
    {
        private const int CheckChunk = 1 << 20;

        public double[] this[string name] => Draw(name, elements);

        /// <summary>
        /// max_k |mean[k] − (Σ_pods x_pod[k]) / pods|, the pods' inputs regenerated from their seeds side by side and summed one
        /// chunk at a time (a running sum of one chunk, never a whole input).
        /// </summary>
        public double MaxErrorOfMean(string[] pods, double[] mean)
        {
            if (mean.Length != elements) throw new InvalidOperationException($"result has {mean.Length} elements, expected {elements}");
            var randoms = pods.Select(Seeded).ToArray();
            var sum = new double[Math.Min(CheckChunk, elements)];
            var worst = 0.0;
            for (var start = 0; start < elements; start += CheckChunk)
            {
                var count = Math.Min(CheckChunk, elements - start);
                Array.Clear(sum);
                foreach (var random in randoms)
                {
                    for (var i = 0; i < count; i++) sum[i] += (random.NextDouble() * 2) - 1;
                }

                for (var i = 0; i < count; i++) worst = Math.Max(worst, Math.Abs(mean[start + i] - (sum[i] / pods.Length)));
            }

            return worst;
        }

        private static Random Seeded(string name) => new(7 + int.Parse(name[1..], CultureInfo.InvariantCulture)); // names are p1..pn

        private static double[] Draw(string name, int count)
        {
            var random = Seeded(name);
            var values = new double[count];
            for (var i = 0; i < count; i++) values[i] = (random.NextDouble() * 2) - 1;
            return values;
        }
    }

    /// <summary>
    /// At most a given number of pods hold their vectors at once. A pod takes a place when it draws its input (inside the
    /// driver's synchronous input callback, so a waiting pod blocks a pool thread) and gives it back when its masked-input
    /// upload is accepted; a pod drawing again for a retry keeps the place it holds. Taking a place runs a full blocking collection.
    /// </summary>
    private sealed class MaskingGate(int places)
    {
        private readonly SemaphoreSlim _places = new(places, places);
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _holders = new();

        public double[] Draw(string pod, Func<double[]> input)
        {
            if (!_holders.ContainsKey(pod))
            {
                _places.Wait();
                _holders[pod] = true;
                // The vectors of the pods that gave their places back are garbage now; without a collection the GC, with
                // gigabytes free, lets them pile up and this process's RSS would still follow n vectors, not the K held.
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
            }

            return input();
        }

        private void Release(string pod)
        {
            if (_holders.TryRemove(pod, out _)) _places.Release();
        }

        /// <summary>One pod's handler: gives the pod's place back once its masked-input upload succeeded.</summary>
        public sealed class Releaser(MaskingGate gate, string pod) : DelegatingHandler
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var response = await base.SendAsync(request, cancellationToken);
                if (response.IsSuccessStatusCode && request.RequestUri?.AbsolutePath.EndsWith("/masked-input", StringComparison.Ordinal) == true) gate.Release(pod);
                return response;
            }
        }
    }

    /// <summary>Counts request and response body bytes of pod calls (requests authenticated with a pod key).</summary>
    /// <remarks>
    /// Connections are capped: with 200 pods each looking up its 199 peers' pins at once, an uncapped pool opens ~40,000
    /// sockets and both processes run out of file descriptors (20,000 here) before the round starts.
    /// </remarks>
    private sealed class ByteCounter() : DelegatingHandler(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 })
    {
        private long _podBytes;

        public long PodBytes => Interlocked.Read(ref _podBytes);

        public void Reset() => Interlocked.Exchange(ref _podBytes, 0);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var isPod = request.RequestUri?.AbsolutePath.Contains("/secagg/", StringComparison.Ordinal) == true
                && request.RequestUri.AbsolutePath is var path && !path.EndsWith("/material", StringComparison.Ordinal) && !path.EndsWith("/masked-sum", StringComparison.Ordinal);
            // A masked vector's length is known (ByteArrayContent): reading it back would buffer one more copy of the vector
            // (a MemoryStream grown by doubling, then its array). Only JSON bodies, small and of unknown length, are read.
            if (isPod && request.Content is not null)
            {
                Interlocked.Add(ref _podBytes, request.Content.Headers.ContentLength ?? (await request.Content.ReadAsByteArrayAsync(cancellationToken)).Length);
            }
            var response = await base.SendAsync(request, cancellationToken);
            if (isPod) Interlocked.Add(ref _podBytes, response.Content.Headers.ContentLength ?? 0);
            return response;
        }
    }
}
