using System.Globalization;
using System.Text.Json;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.TestSupport;
using Xunit.Abstractions;

namespace Smpc.Integration.Tests;

/// <summary>
/// PSI as separate processes: a silo, a `smpc pod run` agent serving a CSV under its configured policy, and `smpc psi` on
/// the modeller's CSV. kkrt and ecdh write the same matched rows on the same files.
/// </summary>
public sealed class PsiProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "smpc-psi-cli-" + Guid.NewGuid().ToString("N")[..8]);

    private static string Cli => RepoPaths.Assembly("Cli", "smpc");

    [Fact]
    public async Task SmpcPsi_Kkrt_WritesTheSameMatchedRowsAsEcdh_OnTheSameFiles()
    {
        Directory.CreateDirectory(_work);
        // The modeller's people 0..299 (person 7 twice, in two rows); the pod's 150..449 spelt differently: 150 in common.
        var modellerCsv = Path.Combine(_work, "mine.csv");
        var lines = new List<string> { "ref,full_name,mail,telephone" };
        foreach (var i in Enumerable.Range(0, 300).Append(160))
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"r{i}-{lines.Count},Person {i},p{i}@example.com,+44 20 7946 {i:0000}"));
        File.WriteAllLines(modellerCsv, lines);
        File.WriteAllLines(Path.Combine(_work, "pod.csv"), Enumerable.Range(150, 300)
            .Select(i => string.Create(CultureInfo.InvariantCulture, $"c{i},  PERSON  {i},P{i}@EXAMPLE.COM,020 7946 {i:0000}"))
            .Prepend("id,name,email,phone"));

        await using var silo = await Services.StartEmbeddedAsync(Path.Combine(_work, "data"));
        var url = silo.BaseAddress!.ToString().TrimEnd('/');
        var @operator = Services.OperatorFor(silo);
        var admin = @operator.WithKey((await @operator.CreateTenantAsync(new CreateTenantRequest("acme", "Acme"))).AdminKey!.ApiKey);
        var identityFile = Path.Combine(_work, "bank.identity.json");
        string podKey;
        using (var identity = Smpc.Agent.Identity.IdentityKeyFile.Create(identityFile))
            podKey = (await admin.RegisterPodAsync("acme", new RegisterPodRequest("bank", "Bank", Convert.ToBase64String(identity.PublicKey)))).ApiKey!.ApiKey;
        var aliceIdentity = Path.Combine(_work, "alice.identity.json");
        string alice;
        using (var identity = Smpc.Agent.Identity.IdentityKeyFile.Create(aliceIdentity))
            alice = (await admin.RegisterModellerAsync("acme", new RegisterModellerRequest("alice", "Alice", Convert.ToBase64String(identity.PublicKey)))).ApiKey!.ApiKey;
        var config = Path.Combine(_work, "bank.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            url,
            tenant = "acme",
            pod = "bank",
            identityKeyFile = identityFile,
            stateDirectory = Path.Combine(_work, "state"),
            pollSeconds = 0.2,
            sources = new { customers = new { kind = "csv", path = Path.Combine(_work, "pod.csv") } },
            psi = new { modellers = new[] { "alice" }, protocols = new[] { "ecdh", "kkrt" } },
        }));

        await using var agent = ServiceProcess.Start("bank", Cli, null, new Dictionary<string, string> { ["SMPC_POD_KEY"] = podKey }, "pod", "run", "--config", config);
        var environment = new Dictionary<string, string> { ["SMPC_KEY"] = alice, ["SMPC_URL"] = url, ["SMPC_IDENTITY"] = aliceIdentity };
        var written = new Dictionary<string, string>();
        foreach (var protocol in new[] { PsiProtocolNames.Ecdh, PsiProtocolNames.Kkrt })
        {
            written[protocol] = Path.Combine(_work, protocol + "-matches.csv");
            var (code, printed) = await ServiceProcess.RunToCompletionAsync(Cli, environment,
                "psi", "overlap-" + protocol, "--tenant", "acme", "--modeller", "alice", "--pod", "bank", "--csv", modellerCsv,
                "--columns", "full_name:text,mail:email,telephone:phone:44", "--pod-source", "customers", "--pod-columns", "name:text,email:email,phone:phone:44",
                "--protocol", protocol, "--out", written[protocol]);
            output.WriteLine(printed);
            Assert.True(code == 0, printed + agent.Output);
            Assert.Contains($"{protocol} intersection", printed, StringComparison.Ordinal);
        }

        var rows = File.ReadAllLines(written[PsiProtocolNames.Kkrt]);
        Assert.Equal(1 + 150 + 1, rows.Length); // header, people 150..299, and person 160's second row
        Assert.Equal(File.ReadAllBytes(written[PsiProtocolNames.Ecdh]), File.ReadAllBytes(written[PsiProtocolNames.Kkrt]));
        var session = await new SmpcClient(new HttpClient { BaseAddress = silo.BaseAddress }, alice).GetSessionAsync("acme", "overlap-kkrt");
        Assert.Equal((SessionPhases.Completed, 300L, 150L), (session.Phase, session.Psi!.ModellerSetSize, session.Psi.ReportedCount!.Value));
    }

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { }
    }
}
