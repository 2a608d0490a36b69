using System.Globalization;
using System.Text.Json;
using Smpc.Client;
using Smpc.Client.Federated;
using Smpc.Contracts;
using Smpc.Samples;
using Smpc.TestSupport;
using Xunit.Abstractions;

namespace Smpc.Integration.Tests;

/// <summary>
/// The README's federated journey as separate processes: a silo, three `smpc pod run` agents configured as the README
/// shows, then `smpc query --spec` and `smpc train --spec`, over loopback HTTP.
/// </summary>
public sealed class FederatedProcessTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Hospitals = ["hospital-a", "hospital-b", "hospital-c"];
    private static readonly string[] Features = ["age", "bmi"];
    private readonly string _work = Path.Combine(Path.GetTempPath(), "smpc-fed-proc-" + Guid.NewGuid().ToString("N")[..8]);

    private static string Cli => RepoPaths.Assembly("Cli", "smpc");

    [Fact]
    public async Task ThreeAgents_AnswerSmpcQuery_AndSmpcTrain_AsSeparateProcesses()
    {
        Directory.CreateDirectory(_work);
        await using var silo = await Services.StartEmbeddedAsync(Path.Combine(_work, "data"));
        var @operator = Services.OperatorFor(silo);
        var admin = @operator.WithKey((await @operator.CreateTenantAsync(new CreateTenantRequest("acme", "Acme"))).AdminKey!.ApiKey);
        var url = silo.BaseAddress!.ToString().TrimEnd('/');
        var agents = new List<ServiceProcess>();
        try
        {
            for (var i = 0; i < Hospitals.Length; i++) agents.Add(await StartAgentAsync(admin, url, Hospitals[i], i));
            var alice = await RegisterAliceAsync(admin);
            var environment = new Dictionary<string, string> { ["SMPC_KEY"] = alice, ["SMPC_URL"] = url, ["SMPC_IDENTITY"] = AliceIdentity };
            string[] pods = [.. Hospitals.SelectMany(h => new[] { "--pod", h })];

            // The README's query spec, verbatim in shape.
            var spec = Path.Combine(_work, "stays.json");
            File.WriteAllText(spec, """
                { "sql": "SELECT age, ward, COUNT(*) AS patients, AVG(length_of_stay) AS mean_stay FROM admissions GROUP BY age, ward",
                  "source": "hospital",
                  "groupBy": [ { "column": "age", "bins": { "from": 0, "to": 100, "width": 10 } },
                               { "column": "ward", "values": ["cardiology", "oncology", "surgery", "maternity"] } ],
                  "aggregates": [ { "name": "patients", "kind": "count" },
                                  { "name": "mean_stay", "kind": "mean", "min": 0, "max": 365, "precision": 10000 } ],
                  "minPooledCount": 10 }
                """);
            var result = Path.Combine(_work, "stays.csv");
            var (code, printed) = await ServiceProcess.RunToCompletionAsync(Cli, environment, ["query", "stays-2026", "--tenant", "acme", "--modeller", "alice", .. pods, "--spec", spec, "--out", result]);
            output.WriteLine(printed);
            Assert.True(code == 0, printed + string.Join('\n', agents.Select(a => a.Output)));

            // Compare one well-populated cell with the pooled rows (no pod holds fewer than its minimum of 5 rows there).
            var everyone = Hospitals.SelectMany((_, i) => HospitalAdmissions.Generate(500 + i, 3000)).ToList();
            var lines = File.ReadAllLines(result);
            Assert.Equal("age,ward,patients,mean_stay,withheld,suppressed_on", lines[0]);
            var cardiology70 = everyone.Where(a => a.Age is >= 70 and < 80 && a.Ward == "cardiology").ToList();
            const string cell = "\"[70, 80)\",cardiology,"; // the bin label holds a comma, so the CSV quotes it
            var row = lines.Single(l => l.StartsWith(cell, StringComparison.Ordinal))[cell.Length..].Split(',');
            Assert.Equal(cardiology70.Count, long.Parse(row[0], CultureInfo.InvariantCulture));
            Assert.Equal(cardiology70.Average(a => a.LengthOfStay), double.Parse(row[1], CultureInfo.InvariantCulture), 3);
            Assert.Equal(40, lines.Length - 1);

            var trainSpec = Path.Combine(_work, "train.json");
            File.WriteAllText(trainSpec, """{"trainer": "logistic", "source": "patients", "features": ["age", "bmi"], "label": "readmitted", "rounds": 5, "learningRate": 0.5, "localEpochs": 5}""");
            var model = Path.Combine(_work, "model.json");
            (code, printed) = await ServiceProcess.RunToCompletionAsync(Cli, environment, ["train", "readmission", "--tenant", "acme", "--modeller", "alice", .. pods, "--spec", trainSpec, "--out", model]);
            output.WriteLine(printed);
            Assert.True(code == 0, printed + string.Join('\n', agents.Select(a => a.Output)));
            using var document = JsonDocument.Parse(File.ReadAllText(model));
            Assert.Equal(Features.Length + 1, document.RootElement.GetProperty("parameters").GetArrayLength());
            Assert.Equal(5, document.RootElement.GetProperty("rounds").GetInt32());
            Assert.All(agents, a => Assert.Contains("session readmission: completed", a.Output, StringComparison.Ordinal));
        }
        finally
        {
            foreach (var agent in agents) await agent.DisposeAsync();
        }
    }

    /// <summary>Creates the pod's identity with `smpc identity new`, registers it, writes its data and the README's agent configuration, and starts `smpc pod run`.</summary>
    private async Task<ServiceProcess> StartAgentAsync(SmpcClient admin, string url, string pod, int index)
    {
        var identityFile = Path.Combine(_work, pod + ".identity.json");
        var (exit, created) = await ServiceProcess.RunToCompletionAsync(Cli, new Dictionary<string, string>(), "identity", "new", "--out", identityFile);
        Assert.True(exit == 0, created);
        var publicKey = JsonDocument.Parse(File.ReadAllText(identityFile)).RootElement.GetProperty("publicKey").GetString()!;
        var podKey = (await admin.RegisterPodAsync("acme", new RegisterPodRequest(pod, pod, publicKey))).ApiKey!.ApiKey;
        var folder = Path.Combine(_work, pod);
        Directory.CreateDirectory(folder);
        HospitalAdmissions.Write(Path.Combine(folder, "hospital.db"), HospitalAdmissions.Generate(500 + index, 3000));
        SyntheticClassification.WriteCsv(Path.Combine(folder, "patients.csv"), SyntheticClassification.Generate(600 + index, 500, Features.Length, modelSeed: 3), Features, "readmitted");
        var config = Path.Combine(folder, "agent.json");
        File.WriteAllText(config, $$"""
            {
              "url": "{{url}}", "tenant": "acme", "pod": "{{pod}}", "identityKeyFile": "{{identityFile}}", "stateDirectory": "state",
              "sources": { "hospital": { "kind": "sqlite", "path": "hospital.db" },
                           "patients": { "kind": "csv", "path": "patients.csv" } },
              "query": { "modellers": ["alice"], "tables": { "admissions": ["age", "ward", "length_of_stay"] },
                         "minRowsPerGroup": 5, "timeLimitSeconds": 60 },
              "training": { "modellers": ["alice"], "trainers": ["linear", "logistic"], "columns": { "patients": ["*"] } }
            }
            """);
        return ServiceProcess.Start(pod, Cli, null, new Dictionary<string, string> { ["SMPC_POD_KEY"] = podKey }, "pod", "run", "--config", config);
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
