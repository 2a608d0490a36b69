using System.Globalization;
using System.Text.Json;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.TestSupport;
using Xunit.Abstractions;

namespace Smpc.Integration.Tests;

/// <summary>The whole journey as separate processes: a silo, three `smpc pod run` agents and `smpc aggregate`, over loopback HTTP.</summary>
public sealed class AgentProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "smpc-agents-" + Guid.NewGuid().ToString("N")[..8]);

    private static string Cli => RepoPaths.Assembly("Cli", "smpc");

    [Fact]
    public async Task ThreePodAgents_AndTheModellerCommand_ComputeTheMean_AsSeparateProcesses()
    {
        await using var silo = await StartServiceAsync();
        var admin = await TenantAdminAsync(silo);
        var url = silo.BaseAddress!.ToString().TrimEnd('/');

        double[][] inputs = [[1.5, 2.25, 3], [2.5, 4.25, 3], [3.5, 6.25, 3.5]];
        var agents = new List<ServiceProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
                agents.Add(StartAgent(await PrepareAgentAsync(admin, url, $"hospital-{(char)('a' + i)}", inputs[i], "los", ["alice"])));

            var alice = await RegisterAliceAsync(admin);
            var result = Path.Combine(_work, "result.csv");
            var (code, printed) = await ServiceProcess.RunToCompletionAsync(Cli, new Dictionary<string, string> { ["SMPC_KEY"] = alice, ["SMPC_URL"] = url, ["SMPC_IDENTITY"] = AliceIdentity },
                "aggregate", "los-2026", "--tenant", "acme", "--modeller", "alice", "--pod", "hospital-a", "--pod", "hospital-b", "--pod", "hospital-c",
                "--field", "los:3:0:365", "--operation", "mean", "--input", "los", "--out", result);
            output.WriteLine(printed);
            Assert.True(code == 0, printed + string.Join('\n', agents.Select(a => a.Output)));

            var values = File.ReadAllLines(result).Skip(1).Select(l => double.Parse(l.Split(',')[2], CultureInfo.InvariantCulture)).ToArray();
            var expected = Enumerable.Range(0, 3).Select(k => inputs.Average(v => v[k])).ToArray();
            for (var k = 0; k < 3; k++) Assert.Equal(expected[k], values[k], 1e-9);
            var session = await new SmpcClient(new HttpClient { BaseAddress = silo.BaseAddress }, alice).GetSessionAsync("acme", "los-2026");
            Assert.Equal(SessionPhases.Completed, session.Phase);
            Assert.All(agents, a => Assert.Contains("joining (mean of 'los'", a.Output, StringComparison.Ordinal));
        }
        finally
        {
            foreach (var agent in agents) await agent.DisposeAsync();
        }
    }

    [Fact]
    public async Task APodAgentKilledMidSession_ResumesFromItsStateFile_AndTheSessionCompletes()
    {
        await using var silo = await StartServiceAsync();
        var admin = await TenantAdminAsync(silo);
        var url = silo.BaseAddress!.ToString().TrimEnd('/');
        double[][] inputs = [[10, 20], [30, 40], [50, 66]];
        var configs = new List<(string Config, string Key)>();
        for (var i = 0; i < 3; i++) configs.Add(await PrepareAgentAsync(admin, url, $"pod-{i + 1}", inputs[i], "v", []));
        var alice = await RegisterAliceAsync(admin);
        var modeller = new SmpcClient(new HttpClient { BaseAddress = silo.BaseAddress }, alice);

        var agents = new List<ServiceProcess>();
        var result = Path.Combine(_work, "result.json");
        ServiceProcess? aggregate = null;
        try
        {
            // Started inside the try: whatever did start is stopped even if a later start fails.
            agents.Add(StartAgent(configs[0]));
            agents.Add(StartAgent(configs[1]));
            aggregate = ServiceProcess.Start("aggregate", Cli, null, new Dictionary<string, string> { ["SMPC_KEY"] = alice, ["SMPC_URL"] = url, ["SMPC_IDENTITY"] = AliceIdentity },
                "aggregate", "s1", "--tenant", "acme", "--modeller", "alice", "--pod", "pod-1", "--pod", "pod-2", "--pod", "pod-3",
                "--field", "v:2:0:100", "--operation", "mean", "--input", "v", "--out", result);
            // The modeller's process creates the session: wait for it the way a pod does, by long-polling for work.
            var pod1 = new SmpcClient(new HttpClient { BaseAddress = silo.BaseAddress, Timeout = TimeSpan.FromSeconds(30) }, configs[0].Key);
            var newest = "-";
            for (var polls = 0; !newest.Equals("s1", StringComparison.Ordinal); polls++)
            {
                Assert.True(polls < 10, "the aggregate process did not create the session");
                newest = (await pod1.WaitForPodSessionsAsync("acme", "pod-1", newest)).LastOrDefault() ?? "-";
            }

            // Pods 1 and 2 publish their key bundles; the exchange cannot close without pod 3.
            await WaitForAsync(modeller, s => s.Aggregation!.KeyBundles.Count == 2);
            await agents[1].KillAsync();
            agents.Add(StartAgent(configs[2]));
            agents.Add(StartAgent(configs[1])); // pod 2 again, from its state file

            var finished = await WaitForAsync(modeller, s => s.Phase == SessionPhases.Completed);
            Assert.Equal([1, 2, 3], finished.Aggregation!.Included!);
            await aggregate.WaitForExitAsync(TimeSpan.FromMinutes(1));
            using var document = JsonDocument.Parse(File.ReadAllText(result));
            var values = document.RootElement.GetProperty("values").GetProperty("v").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.Equal([30, 42], values.Select(v => Math.Round(v, 9)));
            Assert.Contains("session s1: resuming", agents[^1].Output, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(_work, "state", "pod-2", "s1.party")), "the party state (secrets) is deleted when the pod's part ends");
        }
        finally
        {
            if (aggregate is not null) await aggregate.DisposeAsync();
            foreach (var agent in agents) await agent.DisposeAsync();
        }
    }

    [Fact]
    public async Task APodWhoseInputIsOutOfBounds_Declines_AndAggregateNamesIt_FailingBelowMinPods()
    {
        await using var silo = await StartServiceAsync();
        var admin = await TenantAdminAsync(silo);
        var url = silo.BaseAddress!.ToString().TrimEnd('/');
        double[][] inputs = [[10, 20], [30, 40], [50, 60], [70, 1000]]; // pod-4's 1000 is outside the bounds 0..100
        var agents = new List<ServiceProcess>();
        try
        {
            for (var i = 0; i < 4; i++) agents.Add(StartAgent(await PrepareAgentAsync(admin, url, $"pod-{i + 1}", inputs[i], "v", [])));
            var alice = await RegisterAliceAsync(admin);
            var environment = new Dictionary<string, string> { ["SMPC_KEY"] = alice, ["SMPC_URL"] = url, ["SMPC_IDENTITY"] = AliceIdentity };
            string[] Aggregate(string session, params string[] more) =>
                ["aggregate", session, "--tenant", "acme", "--modeller", "alice", "--pod", "pod-1", "--pod", "pod-2", "--pod", "pod-3", "--pod", "pod-4",
                    "--field", "v:2:0:100", "--operation", "sum", "--input", "v", "--phase-timeout", "3600", .. more];

            // The phases are an hour long: finishing at all proves that nobody waited for pod-4's deadline.
            var (code, printed) = await ServiceProcess.RunToCompletionAsync(Cli, environment, Aggregate("s1"));
            output.WriteLine(printed);
            Assert.True(code == 7, printed); // ExitCodes.TooFewPods (docs/cli.md)
            Assert.Contains("left out pod-4 (party 4): declined: input-out-of-bounds", printed, StringComparison.Ordinal);
            Assert.Contains("fewer than --min-pods 4", printed, StringComparison.Ordinal);

            (code, printed) = await ServiceProcess.RunToCompletionAsync(Cli, environment, Aggregate("s2", "--min-pods", "3"));
            output.WriteLine(printed);
            Assert.True(code == 0, printed);
            Assert.Contains("left out pod-4 (party 4): declined: input-out-of-bounds", printed, StringComparison.Ordinal);
            // The pod's own message (which names the field and its bounds) stays in its log; the service has the category only.
            Assert.Contains("input 'v': field 'v'", agents[3].Output, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var agent in agents) await agent.DisposeAsync();
        }
    }

    [Fact]
    public async Task AggregateInterruptedWithCtrlC_CancelsItsSession()
    {
        await using var silo = await StartServiceAsync();
        var admin = await TenantAdminAsync(silo);
        var url = silo.BaseAddress!.ToString().TrimEnd('/');
        var pods = new List<(string Config, string Key)>();
        foreach (var pod in new[] { "pod-1", "pod-2", "pod-3" }) pods.Add(await PrepareAgentAsync(admin, url, pod, [1], "v", [])); // registered, never started
        var alice = await RegisterAliceAsync(admin);
        var modeller = new SmpcClient(new HttpClient { BaseAddress = silo.BaseAddress }, alice);
        await using var aggregate = ServiceProcess.Start("aggregate", Cli, null, new Dictionary<string, string> { ["SMPC_KEY"] = alice, ["SMPC_URL"] = url, ["SMPC_IDENTITY"] = AliceIdentity },
            "aggregate", "s1", "--tenant", "acme", "--modeller", "alice", "--pod", "pod-1", "--pod", "pod-2", "--pod", "pod-3",
            "--field", "v:1:0:100", "--operation", "sum", "--input", "v");
        // The modeller's process creates the session: wait for it the way a pod does, by long-polling for work.
        var pod1 = new SmpcClient(new HttpClient { BaseAddress = silo.BaseAddress, Timeout = TimeSpan.FromSeconds(30) }, pods[0].Key);
        var newest = "-";
        for (var polls = 0; !newest.Equals("s1", StringComparison.Ordinal); polls++)
        {
            Assert.True(polls < 10, "the aggregate process did not create the session");
            newest = (await pod1.WaitForPodSessionsAsync("acme", "pod-1", newest)).LastOrDefault() ?? "-";
        }

        using (var interrupt = System.Diagnostics.Process.Start("kill", ["-INT", aggregate.Pid.ToString(CultureInfo.InvariantCulture)])) await interrupt.WaitForExitAsync();
        await aggregate.WaitForExitAsync(TimeSpan.FromSeconds(30));

        var session = await modeller.GetSessionAsync("acme", "s1");
        Assert.True(session.Phase == SessionPhases.Cancelled, aggregate.Output);
        Assert.Equal(("Modeller", "alice", "the modeller's run was interrupted"), (session.Cancellation!.Role, session.Cancellation.By, session.Cancellation.Reason));
        Assert.Contains("session s1 cancelled", aggregate.Output, StringComparison.Ordinal);
    }

    /// <summary>An embedded silo process with its data in this test's folder.</summary>
    private async Task<ServiceProcess> StartServiceAsync()
    {
        Directory.CreateDirectory(_work);
        var silo = await Services.StartEmbeddedAsync(Path.Combine(_work, "data"));
        return silo;
    }

    /// <summary>Creates tenant "acme" as the operator and returns its admin's client.</summary>
    private static async Task<SmpcClient> TenantAdminAsync(ServiceProcess silo)
    {
        var @operator = Services.OperatorFor(silo);
        return @operator.WithKey((await @operator.CreateTenantAsync(new CreateTenantRequest("acme", "Acme"))).AdminKey!.ApiKey);
    }

    /// <summary>Creates the pod's identity key with `smpc identity new`, registers the pod and writes its agent configuration.</summary>
    private async Task<(string Config, string Key)> PrepareAgentAsync(SmpcClient admin, string url, string pod, double[] values, string input, string[] modellers)
    {
        var identityFile = Path.Combine(_work, pod + ".identity.json");
        var (exit, created) = await ServiceProcess.RunToCompletionAsync(Cli, new Dictionary<string, string>(), "identity", "new", "--out", identityFile);
        Assert.True(exit == 0, created);
        var publicKey = JsonDocument.Parse(File.ReadAllText(identityFile)).RootElement.GetProperty("publicKey").GetString()!;
        var podKey = (await admin.RegisterPodAsync("acme", new RegisterPodRequest(pod, pod, publicKey))).ApiKey!.ApiKey;
        var config = Path.Combine(_work, pod + ".json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            url,
            tenant = "acme",
            pod,
            identityKeyFile = identityFile,
            stateDirectory = Path.Combine(_work, "state", pod),
            pollSeconds = 0.2,
            inputs = new Dictionary<string, object> { [input] = new { values } },
            policy = new { modellers },
        }));
        return (config, podKey);
    }

    private static ServiceProcess StartAgent((string Config, string Key) agent) =>
        ServiceProcess.Start(Path.GetFileNameWithoutExtension(agent.Config), Cli, null,
            new Dictionary<string, string> { ["SMPC_POD_KEY"] = agent.Key }, "pod", "run", "--config", agent.Config);

    /// <summary>Long-polls the existing session until the condition holds (two minutes at most).</summary>
    private static async Task<SessionResponse> WaitForAsync(SmpcClient modeller, Func<SessionResponse, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            var session = await modeller.GetSessionAsync("acme", "s1");
            if (condition(session)) return session;
            session = await modeller.WaitForSessionChangeAsync("acme", "s1", session.Version, 5); // long poll, no sleeping
            if (condition(session)) return session;

            if (DateTime.UtcNow > deadline) throw new TimeoutException("The session did not get there in time.");
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { }
    }

    private string AliceIdentity => Path.Combine(_work, "alice.identity.json");

    /// <summary>Registers modeller alice with an identity key (the CLI signs with it through SMPC_IDENTITY); returns its API key.</summary>
    private async Task<string> RegisterAliceAsync(SmpcClient admin)
    {
        Directory.CreateDirectory(_work);
        using var identity = Smpc.Agent.Identity.IdentityKeyFile.Create(AliceIdentity);
        return (await admin.RegisterModellerAsync("acme", new RegisterModellerRequest("alice", "Alice", Convert.ToBase64String(identity.PublicKey)))).ApiKey!.ApiKey;
    }
}
