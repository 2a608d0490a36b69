using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.TestSupport;
using Xunit.Abstractions;

namespace Smpc.Integration.Tests;

/// <summary>
/// Webhooks on a real cluster (two silo processes and a gateway on PostgreSQL): every silo is killed with SIGKILL while
/// a delivery is in flight and others wait in the queue; after a restart the receiver still gets every event, in order
/// (at least once: it deduplicates by webhook-id).
/// </summary>
public sealed class WebhookClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private PostgresServer _postgres = null!;

    public async Task InitializeAsync() => _postgres = await PostgresServer.StartAsync();

    public async Task DisposeAsync() => await _postgres.DisposeAsync();

    /// <summary>A receiver on loopback (HttpListener): records each request; the first one hangs until released, then fails.</summary>
    private sealed class Receiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;

        public Receiver()
        {
            var port = FreePort.Next();
            Url = $"http://127.0.0.1:{port}/hook/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public string Url { get; }

        /// <summary>(webhook-id, body, status answered) in arrival order.</summary>
        public ConcurrentQueue<(string Id, string Body, int Status)> Requests { get; } = new();

        /// <summary>Set once the first request arrived (and hangs).</summary>
        public TaskCompletionSource FirstArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completing it answers the hanging first request (500) and makes every later one succeed.</summary>
        public TaskCompletionSource Recover { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private int _count;

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); }
                catch (Exception) { return; }
                _ = Task.Run(() => HandleAsync(context));
            }
        }

        private async Task HandleAsync(HttpListenerContext context)
        {
            using var reader = new StreamReader(context.Request.InputStream);
            var body = await reader.ReadToEndAsync();
            var id = context.Request.Headers["webhook-id"] ?? "";
            int status;
            if (Interlocked.Increment(ref _count) == 1)
            {
                FirstArrived.TrySetResult();
                await Recover.Task; // the silo that sent it dies meanwhile
                status = 500;
            }
            else
            {
                status = Recover.Task.IsCompleted ? 200 : 500;
            }

            Requests.Enqueue((id, body, status));
            try
            {
                context.Response.StatusCode = status;
                context.Response.Close();
            }
            catch (Exception)
            {
                // the sender is gone
            }
        }

        public void Dispose()
        {
            Recover.TrySetResult();
            _listener.Stop();
            _listener.Close();
            _ = _loop;
        }
    }

    [Fact]
    public async Task EverySiloKilledMidDelivery_TheReceiverStillGetsEveryEvent_InOrder()
    {
        var env = Services.ClusterEnvironment(await _postgres.CreateDatabaseAsync("webhooks"), "wh-" + Guid.NewGuid().ToString("N")[..6]);
        env["Smpc__Webhooks__AllowLoopbackHttp"] = "true"; // the test's receiver is plain http on loopback; production clusters take https only
        env["Smpc__Webhooks__RetryDelayScale"] = "0.02"; // retries after 0.1 s, 0.6 s, … instead of 5 s, 30 s, …
        var (exit, migrateOutput) = await ServiceProcess.RunToCompletionAsync(Services.SiloAssembly, env, "migrate");
        Assert.True(exit == 0, migrateOutput);

        using var receiver = new Receiver();
        var siloA = await StartSiloAsync("silo A", env);
        var siloB = await StartSiloAsync("silo B", env);
        try
        {
            await using var gateway = await ServiceProcess.StartReadyAsync("gateway", Services.GatewayAssembly, _ => env, Services.StartTimeout);
            var @operator = Services.OperatorFor(gateway);
            const string tenant = "hooks";
            var created = await @operator.CreateTenantAsync(new CreateTenantRequest(tenant, "Webhooks"));
            var admin = @operator.WithKey(created.AdminKey!.ApiKey);
            foreach (var pod in new[] { "p1", "p2", "p3" })
                await admin.RegisterPodAsync(tenant, new RegisterPodRequest(pod, "Pod " + pod, Convert.ToBase64String(new byte[32])));
            var modeller = admin.WithKey((await admin.RegisterModellerAsync(tenant, new RegisterModellerRequest("m1", "Modeller"))).ApiKey!.ApiKey);

            using var http = new HttpClient { BaseAddress = gateway.BaseAddress };
            http.DefaultRequestHeaders.Authorization = new("Bearer", created.AdminKey.ApiKey);
            using var create = await http.PostAsJsonAsync($"v1/tenants/{tenant}/webhooks", new CreateWebhookRequest(receiver.Url), Json);
            Assert.True(create.StatusCode == HttpStatusCode.Created, await create.Content.ReadAsStringAsync());

            // Four sessions created and cancelled: twelve events, queued behind the first one, whose delivery hangs.
            for (var i = 1; i <= 4; i++)
            {
                await modeller.CreateSessionAsync(tenant, new CreateSessionRequest($"s{i}", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"],
                    new AggregationRequest([new AggregationFieldRequest("x", 3, -10, 10)], "mean", Convert.ToBase64String(new byte[32]), "x")));
                await modeller.CancelSessionAsync(tenant, $"s{i}", "drill");
            }

            await receiver.FirstArrived.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await siloA.KillAsync();
            await siloB.KillAsync();
            output.WriteLine($"killed both silos with {receiver.Requests.Count} requests answered and one in flight");
            receiver.Recover.SetResult();

            // Both restart at once: each must see the killed silos declared dead before it is ready, which takes long
            // on a loaded machine, so the restarts get more time than a first start.
            var restarts = await Task.WhenAll(StartSiloAsync("silo A again", env, RestartTimeout), StartSiloAsync("silo B again", env, RestartTimeout));
            (siloA, siloB) = (restarts[0], restarts[1]);

            var expected = 12;
            Assert.True(await Poll.UntilAsync(() => Task.FromResult(Delivered(receiver).Count == expected), TimeSpan.FromMinutes(3), TimeSpan.FromMilliseconds(200)),
                $"{Delivered(receiver).Count} of {expected} events delivered; requests: {receiver.Requests.Count}\n{siloA.Output}");
            var delivered = Delivered(receiver);
            var events = delivered.Select(r => JsonNode.Parse(r.Body)!).ToList();
            var sequences = events.Select(e => (long)e["data"]!["auditSequence"]!).ToList();
            Assert.Equal(sequences.Order(), sequences); // in audit order
            Assert.Equal(Enumerable.Range(1, 4).SelectMany(i => new[] { $"s{i}", $"s{i}", $"s{i}" }), events.Select(e => (string)e["data"]!["session"]!));
            Assert.Equal(Enumerable.Repeat(new[] { WebhookEventTypes.SessionCreated, WebhookEventTypes.SessionPhaseChanged, WebhookEventTypes.SessionCancelled }, 4).SelectMany(t => t),
                events.Select(e => (string)e["type"]!));
            output.WriteLine($"{receiver.Requests.Count} requests for {expected} events (duplicates and failed attempts included)");

            // The hanging first attempt's event is among them: its delivery was resent with the same webhook-id.
            var first = receiver.Requests.First();
            Assert.Equal(500, first.Status);
            Assert.Contains(delivered, r => r.Id == first.Id);
        }
        finally
        {
            await siloA.DisposeAsync();
            await siloB.DisposeAsync();
        }
    }

    /// <summary>The first 2xx of each webhook-id, in arrival order (receivers deduplicate by webhook-id).</summary>
    private static List<(string Id, string Body, int Status)> Delivered(Receiver receiver) =>
        [.. receiver.Requests.Where(r => r.Status == 200).GroupBy(r => r.Id).Select(g => g.First())];

    /// <summary>How long a silo restarted after every silo was killed may take to be ready.</summary>
    private static readonly TimeSpan RestartTimeout = TimeSpan.FromMinutes(4);

    private static Task<ServiceProcess> StartSiloAsync(string name, Dictionary<string, string> env, TimeSpan? timeout = null) =>
        ServiceProcess.StartReadyAsync(name, Services.SiloAssembly, ports => new Dictionary<string, string>(env).Concat(ports.SiloSettings).ToDictionary(), timeout ?? Services.StartTimeout);
}
