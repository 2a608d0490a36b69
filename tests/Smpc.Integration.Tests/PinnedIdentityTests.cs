using System.Collections.Concurrent;
using System.Net.Http.Json;
using Smpc.Agent;
using Smpc.Agent.Identity;
using Smpc.Client;
using Smpc.Client.Identity;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;
using Smpc.TestSupport;
using Xunit.Abstractions;

namespace Smpc.Integration.Tests;

/// <summary>
/// Pins through the real service (issue #17, finding 2): pod agents with their default configuration pin their peers on
/// first use (a warning in the log), and a registry that later presents another identity key for a peer — a service gone
/// bad, played by a handler that rewrites <c>GET …/pods/{id}</c> in one pod's HTTP client — stops that pod before it sends
/// any secret-dependent message. A configured pin that differs from the registry stops a pod the same way.
/// </summary>
public sealed class PinnedIdentityTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string[] Pods = ["p1", "p2", "p3"];
    private static readonly Dictionary<string, double[]> Inputs = new() { ["p1"] = [1, 2], ["p2"] = [3, 4], ["p3"] = [5, 6] };

    private readonly string _work = Path.Combine(Path.GetTempPath(), "smpc-pins-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly Dictionary<string, RegistryRewriter> _wires = [];
    private readonly Dictionary<string, string> _keys = [];
    private readonly ConcurrentQueue<string> _log = new();
    private ServiceProcess? _silo;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_work);
        _silo = await Services.StartEmbeddedAsync(Path.Combine(_work, "data"));
    }

    public async Task DisposeAsync()
    {
        if (_silo is not null) await _silo.DisposeAsync();
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task FirstUseIsAnnounced_ARegistryThatLaterSwapsAKey_OrDiffersFromAConfiguredPin_StopsThePodBeforeAnyMessage()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var @operator = Services.OperatorFor(_silo!);
        const string tenant = "acme";
        var admin = @operator.WithKey((await @operator.CreateTenantAsync(new CreateTenantRequest(tenant, "Acme"), cts.Token)).AdminKey!.ApiKey);
        // Pods act only on sessions the modeller signed: it registers an identity key and signs with it.
        using var modellerIdentity = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        var modeller = @operator.WithKey((await admin.RegisterModellerAsync(tenant,
            new RegisterModellerRequest("m1", "Modeller", Convert.ToBase64String(modellerIdentity.PublicKey)), cts.Token)).ApiKey!.ApiKey)
            .WithModellerIdentity(modellerIdentity);
        foreach (var pod in Pods)
        {
            Directory.CreateDirectory(Path.Combine(_work, pod));
            using var identity = IdentityKeyFile.Create(Path.Combine(_work, pod, "identity.key"));
            _keys[pod] = (await admin.RegisterPodAsync(tenant, new RegisterPodRequest(pod, pod, Convert.ToBase64String(identity.PublicKey)), cts.Token)).ApiKey!.ApiKey;
            _wires[pod] = new RegistryRewriter { InnerHandler = new HttpClientHandler() };
        }

        var modellerNotices = new List<string>();
        var modellerPins = new PinStore(Path.Combine(_work, "modeller-pins.json"), notice: modellerNotices.Add);
        var p2 = (await modeller.GetPodAsync(tenant, "p2", cts.Token)).IdentityFingerprint!;

        // 1. Default configuration (no pins): every agent pins its peers on first use, loudly; the session completes.
        await using (var agents = StartAgents(tenant, cts.Token))
        {
            var first = await RunAsync(modeller, tenant, "first", modellerPins, cts.Token);
            Assert.Equal([9, 12], first.Values["x"]);
        }

        foreach (var (pod, peer) in new[] { ("p1", "p2"), ("p1", "p3"), ("p2", "p1"), ("p3", "p2") })
            Assert.Contains(_log, l => l.StartsWith($"{pod}: WARNING FIRST USE: pinned pod '{peer}' of tenant '{tenant}'", StringComparison.Ordinal));
        Assert.Equal(3, modellerNotices.Count(n => n.StartsWith("FIRST USE: pinned pod", StringComparison.Ordinal)));
        var pinned = new PinStore(Path.Combine(_work, "p1", "state", "pins.json"), trustOnFirstUse: false).Find(tenant, PinKinds.Pod, "p2");
        Assert.Equal((p2, PinSources.FirstUse), (pinned!.Fingerprint, pinned.Source));

        // 2. The service now presents another identity key for p2 to p1 (the one whose session keys it would hold).
        using var impostor = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        _wires["p1"].Swap = new Swap("p2", Convert.ToBase64String(impostor.PublicKey), impostor.Fingerprint);
        await using (var agents = StartAgents(tenant, cts.Token))
        {
            var swapped = RunAsync(modeller, tenant, "swapped", modellerPins, cts.Token);
            await WaitForLogAsync("p1: session swapped: stopped (identity pin mismatch): pod 'p2' of tenant 'acme' presents identity " + impostor.Fingerprint, cts.Token);
            // Without p1 two inputs remain: the honest pods' policy (at least 3 inputs in a sum) refuses to answer the unmask
            // request, so the session fails with no result; p1 gave nothing.
            var failed = await Assert.ThrowsAsync<SecureAggregationFailedException>(() => swapped);
            Assert.Contains("(policy)", failed.Message, StringComparison.Ordinal);
        }

        AssertOnlyDeclined("p1", "swapped");
        Assert.Equal(p2, new PinStore(Path.Combine(_work, "p1", "state", "pins.json"), trustOnFirstUse: false).Find(tenant, PinKinds.Pod, "p2")!.Fingerprint);
        _wires["p1"].Swap = null;

        // 3. p3's operator configured a pin for p2 that differs from the registry: p3 stops before its first message.
        await using (var agents = StartAgents(tenant, cts.Token, configure: (pod, c) => pod == "p3" ? c with { Pins = new() { ["p2"] = impostor.Fingerprint } } : c))
        {
            var configured = RunAsync(modeller, tenant, "configured", modellerPins, cts.Token);
            await WaitForLogAsync("p3: session configured: stopped (identity pin mismatch): pod 'p2' of tenant 'acme' presents identity " + p2, cts.Token);
            await Assert.ThrowsAsync<SecureAggregationFailedException>(() => configured); // two inputs left: refused by policy
        }

        AssertOnlyDeclined("p3", "configured");
        foreach (var line in _log) output.WriteLine(line);
    }

    /// <summary>The pod sent nothing to the session but its decline: no key bundle, shares, masked input or unmask response.</summary>
    private void AssertOnlyDeclined(string pod, string session)
    {
        var sent = _wires[pod].Sent.Where(s => s.Contains($"/sessions/{session}/", StringComparison.Ordinal)).ToList();
        output.WriteLine($"{pod} sent to {session}: {string.Join("; ", sent)}");
        Assert.All(sent, s => Assert.EndsWith($"/sessions/{session}/secagg/decline", s, StringComparison.Ordinal));
    }

    private async Task<AggregationOutcome> RunAsync(SmpcClient modeller, string tenant, string id, PinStore pins, CancellationToken ct)
    {
        using var aggregation = await ModellerAggregation.CreateAsync(modeller, tenant, id, "m1", Pods,
            new AggregationRequest([new AggregationFieldRequest("x", 2, -10, 10)], "sum", "", "x", PhaseTimeoutSeconds: 60), pins: pins, ct: ct);
        return await aggregation.WaitForResultAsync(ct);
    }

    private async Task WaitForLogAsync(string start, CancellationToken ct)
    {
        while (!_log.Any(l => l.StartsWith(start, StringComparison.Ordinal)))
        {
            Assert.False(ct.IsCancellationRequested, $"no log line '{start}':\n{string.Join("\n", _log)}");
            await Task.Delay(50, CancellationToken.None);
        }
    }

    private Agents StartAgents(string tenant, CancellationToken ct, Func<string, PodAgentConfig, PodAgentConfig>? configure = null)
    {
        var agents = new Agents(ct);
        foreach (var pod in Pods)
        {
            var client = new SmpcClient(new HttpClient(_wires[pod], disposeHandler: false) { BaseAddress = _silo!.BaseAddress, Timeout = TimeSpan.FromSeconds(60) }, _keys[pod]);
            var config = new PodAgentConfig { Tenant = tenant, Pod = pod, IdentityKeyFile = "identity.key", Inputs = new() { ["x"] = new PodInput { Values = Inputs[pod] } } };
            var agent = new PodAgent(configure?.Invoke(pod, config) ?? config, Path.Combine(_work, pod), client, line => _log.Enqueue($"{pod}: {line}")) { LongPollSeconds = 1 };
            agents.Start(agent);
        }

        return agents;
    }

    /// <summary>Running agents, stopped together.</summary>
    private sealed class Agents(CancellationToken ct) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        private readonly List<Task> _running = [];

        public void Start(PodAgent agent) => _running.Add(Task.Run(() => agent.RunAsync(_stop.Token)));

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_running).ContinueWith(_ => { }, TaskScheduler.Default); // a stopped agent ends with a cancellation
            _stop.Dispose();
        }
    }

    /// <summary>What the rewriting service presents for one pod instead of its registered identity.</summary>
    private sealed record Swap(string Pod, string PublicKey, string Fingerprint);

    /// <summary>One pod's wire: records every request that is not a GET, and rewrites the registry's answer for <see cref="Swap"/>'s pod.</summary>
    private sealed class RegistryRewriter : DelegatingHandler
    {
        public volatile Swap? Swap;

        public ConcurrentQueue<string> Sent { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method != HttpMethod.Get) Sent.Enqueue($"{request.Method} {request.RequestUri!.AbsolutePath}");
            var response = await base.SendAsync(request, cancellationToken);
            if (Swap is { } swap && request.Method == HttpMethod.Get && response.IsSuccessStatusCode
                && request.RequestUri!.AbsolutePath.EndsWith($"/pods/{swap.Pod}", StringComparison.Ordinal))
            {
                var member = await response.Content.ReadFromJsonAsync<MemberResponse>(cancellationToken);
                response.Content = JsonContent.Create(member! with { IdentityPublicKey = swap.PublicKey, IdentityFingerprint = swap.Fingerprint });
            }

            return response;
        }
    }
}
