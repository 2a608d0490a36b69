using System.Globalization;
using System.Text.Json;
using Smpc.Client;
using Smpc.Client.Contracts;
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
        Directory.CreateDirectory(_work);
        await using var silo = Services.StartEmbedded(Path.Combine(_work, "data"), FreePort.Next(), FreePort.Next(), FreePort.Next());
        await silo.WaitUntilReadyAsync(Services.StartTimeout);
        var @operator = Services.OperatorFor(silo);
        var admin = @operator.WithKey((await @operator.CreateTenantAsync(new CreateTenantRequest("acme", "Acme"))).AdminKey!.ApiKey);
        var url = silo.BaseAddress!.ToString().TrimEnd('/');

        double[][] inputs = [[1.5, 2.25, 3], [2.5, 4.25, 3], [3.5, 6.25, 3.5]];
        var agents = new List<ServiceProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var pod = $"hospital-{(char)('a' + i)}";
                var identityFile = Path.Combine(_work, pod + ".identity.json");
                var (exit, created) = await ServiceProcess.RunToCompletionAsync(Cli, new Dictionary<string, string>(), "identity", "new", "--out", identityFile);
                Assert.True(exit == 0, created);
                var publicKey = JsonDocument.Parse(File.ReadAllText(identityFile)).RootElement.GetProperty("publicKey").GetString()!;
                var podKey = (await admin.RegisterPodAsync("acme", new RegisterPodRequest(pod, pod, publicKey))).ApiKey!.ApiKey;
                var config = Path.Combine(_work, pod + ".json");
                File.WriteAllText(config, JsonSerializer.Serialize(new
                {
                    url, tenant = "acme", pod, identityKeyFile = identityFile, stateDirectory = Path.Combine(_work, "state", pod), pollSeconds = 0.2,
                    inputs = new Dictionary<string, object> { ["los"] = new { values = inputs[i] } },
                    policy = new { modellers = new[] { "alice" } },
                }));
                agents.Add(ServiceProcess.Start(pod, Cli, null, new Dictionary<string, string> { ["SMPC_POD_KEY"] = podKey }, "pod", "run", "--config", config));
            }

            var alice = (await admin.RegisterModellerAsync("acme", new RegisterModellerRequest("alice", "Alice"))).ApiKey!.ApiKey;
            var result = Path.Combine(_work, "result.csv");
            var (code, printed) = await ServiceProcess.RunToCompletionAsync(Cli, new Dictionary<string, string> { ["SMPC_KEY"] = alice, ["SMPC_URL"] = url },
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

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { }
    }
}
