using System.CommandLine;
using System.Globalization;
using Smpc.Agent;
using Smpc.Agent.DataSources;
using Smpc.Agent.Identity;
using Smpc.Agent.Psi;
using Smpc.Agent.Query;
using Smpc.Agent.SecureAggregation;
using Smpc.Agent.Training;
using Smpc.ApiGateway.Auth;
using Smpc.Client;
using Smpc.Client.Federated;
using Smpc.Client.Identity;
using Smpc.Client.Psi;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Federated.Training;
using Smpc.Protocols.Randomness;
using Smpc.Samples;
using Smpc.Silo.Hosting;
using Spectre.Console;

namespace Smpc.Cli.Commands;

/// <summary>
/// <c>smpc demo</c>: starts the service in-process (embedded mode, temporary data) unless a server is given, creates a
/// tenant with three pods and a modeller, and runs the millionaires' average, a model-parameter average, a PSI, then three
/// hospitals' federated SQL query and federated training (real pod agents). Each pod's
/// side runs here too, as separate clients with their own keys: in a real deployment each runs on its owner's machine.
/// </summary>
public static class DemoCommand
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, PinStore> DemoPins = new();

    public static Command Build()
    {
        var server = new Option<string?>("--server") { Description = "Use this running service instead of starting one (needs --operator-key)" };
        var operatorKey = new Option<string?>("--operator-key") { Description = "The operator key of --server" };
        var command = new Command("demo", "Runs the millionaires' average, a model-parameter average, a customer-overlap PSI, a three-hospital federated SQL query and federated logistic regression end to end, printing every step.") { server, operatorKey };
        command.SetAction(async (r, ct) =>
        {
            var url = r.GetValue(server);
            var key = r.GetValue(operatorKey);
            Microsoft.AspNetCore.Builder.WebApplication? app = null;
            var data = Path.Combine(Path.GetTempPath(), "smpc-demo-" + Guid.NewGuid().ToString("N")[..8]);
            if (url is null)
            {
                key = OperatorKeys.Generate();
                url = $"http://127.0.0.1:{FreePort()}";
                AnsiConsole.MarkupLineInterpolated($"[grey]starting the service in-process (embedded mode) on[/] {url} [grey]with data in[/] {data}");
                app = await SmpcApp.BuildAsync([$"--urls={url}", $"--Smpc:DataDirectory={data}", $"--Smpc:SiloPort={FreePort()}", $"--Smpc:GatewayPort={FreePort()}",
                    $"--Smpc:Gateway:OperatorKey={key}", "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Orleans=Error"]);
                await app.StartAsync(ct);
            }

            if (key is null)
            {
                AnsiConsole.MarkupLine("[red]--server needs --operator-key[/]");
                return 2;
            }

            try
            {
                using var http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/") };
                await RunAsync(new SmpcClient(http, key), url, ct);
                return 0;
            }
            finally
            {
                if (app is not null)
                {
                    await app.StopAsync(CancellationToken.None);
                    await app.DisposeAsync();
                    try { Directory.Delete(data, recursive: true); } catch (IOException) { }
                }
            }
        });
        return command;
    }

    private static async Task RunAsync(SmpcClient @operator, string url, CancellationToken ct)
    {
        var tenant = "demo-" + Guid.NewGuid().ToString("N")[..6];
        Step($"operator creates tenant {tenant}");
        var admin = @operator.WithKey((await @operator.CreateTenantAsync(new CreateTenantRequest(tenant, "Demo"), ct)).AdminKey!.ApiKey);
        string[] pods = ["alice-bank", "bob-bank", "carol-bank"];
        var identities = new Dictionary<string, Ed25519KeyPair>();
        var podClients = new Dictionary<string, SmpcClient>();
        foreach (var pod in pods)
        {
            identities[pod] = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
            var registered = await admin.RegisterPodAsync(tenant, new RegisterPodRequest(pod, pod, Convert.ToBase64String(identities[pod].PublicKey)), ct);
            podClients[pod] = admin.WithKey(registered.ApiKey!.ApiKey);
            Step($"admin registers pod {pod} (identity {registered.IdentityFingerprint![..19]}…)");
        }

        // The modeller signs every session it creates with its identity key; the pods' agents verify it before acting.
        var analystIdentity = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        var modeller = admin.WithKey((await admin.RegisterModellerAsync(tenant,
            new RegisterModellerRequest("analyst", "Analyst", Convert.ToBase64String(analystIdentity.PublicKey)), ct)).ApiKey!.ApiKey).WithModellerIdentity(analystIdentity);
        Step("admin registers modeller analyst");

        var wealth = new Dictionary<string, double[]> { ["alice-bank"] = [1_250_000], ["bob-bank"] = [3_400_000.5], ["carol-bank"] = [870_000.25] };
        AnsiConsole.Write(new Rule("[yellow]The millionaires' average[/]"));
        Step("each pod's private number (shown here only because this demo plays every pod): " + string.Join(", ", wealth.Select(w => $"{w.Key} {w.Value[0]:N2}")));
        await RunScenarioAsync(modeller, podClients, identities, tenant, "millionaires", pods, wealth,
            new AggregationRequest([new AggregationFieldRequest("wealth", 1, 0, 1e9, Precision: 100)], "mean", "", "wealth", PhaseTimeoutSeconds: 60), ct);

        var parameters = new Dictionary<string, double[]>
        {
            ["alice-bank"] = [0.12, -0.40, 1.05, 0.33, -0.91, 0.07],
            ["bob-bank"] = [0.10, -0.38, 1.11, 0.29, -0.85, 0.02],
            ["carol-bank"] = [0.15, -0.45, 0.98, 0.36, -0.95, 0.11],
        };
        AnsiConsole.Write(new Rule("[yellow]A model-parameter average (federated averaging, one round)[/]"));
        await RunScenarioAsync(modeller, podClients, identities, tenant, "model-round-1", pods, parameters,
            new AggregationRequest([new AggregationFieldRequest("theta", 6, -10, 10)], "mean", "", "theta", PhaseTimeoutSeconds: 60), ct);
        AnsiConsole.MarkupLine("[green]done:[/] the service stored only signed public keys, sealed envelopes, masked vectors and their masked sum.");

        AnsiConsole.Write(new Rule("[yellow]Customer overlap (private set intersection)[/]"));
        await RunOverlapAsync(modeller, podClients["bob-bank"], tenant, ct);

        await RunHospitalsAsync(admin, modeller, tenant, url, ct);
    }

    /// <summary>
    /// Three hospitals, each running the real pod agent on its own SQLite database and CSV: a federated SQL query (patients
    /// per age band and ward, mean length of stay) and federated logistic regression, compared with the pooled answers.
    /// </summary>
    private static async Task RunHospitalsAsync(SmpcClient admin, SmpcClient modeller, string tenant, string url, CancellationToken ct)
    {
        string[] hospitals = ["st-marys", "royal-infirmary", "general"];
        int[] sizes = [20_000, 35_000, 12_000];
        string[] features = ["age", "blood_pressure", "bmi", "prior_admissions"];
        var folder = Path.Combine(Path.GetTempPath(), "smpc-demo-hospitals-" + Guid.NewGuid().ToString("N")[..8]);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var agents = new List<Task>();
        try
        {
            foreach (var (hospital, i) in hospitals.Select((h, i) => (h, i)))
            {
                var home = Path.Combine(folder, hospital);
                Directory.CreateDirectory(home);
                using var identity = IdentityKeyFile.Create(Path.Combine(home, "identity.key"));
                var registered = await admin.RegisterPodAsync(tenant, new RegisterPodRequest(hospital, hospital, Convert.ToBase64String(identity.PublicKey)), ct);
                HospitalAdmissions.Write(Path.Combine(home, "hospital.db"), HospitalAdmissions.Generate(100 + i, sizes[i]));
                SyntheticClassification.WriteCsv(Path.Combine(home, "patients.csv"), SyntheticClassification.Generate(200 + i, sizes[i] / 10, features.Length, modelSeed: 42), features, "readmitted");
                var config = new PodAgentConfig
                {
                    Url = url, Tenant = tenant, Pod = hospital, ApiKey = registered.ApiKey!.ApiKey, IdentityKeyFile = "identity.key",
                    Sources = new()
                    {
                        ["hospital"] = new RecordSourceConfig { Kind = "sqlite", Path = "hospital.db" },
                        ["patients"] = new RecordSourceConfig { Kind = "csv", Path = "patients.csv" },
                    },
                    Query = new QueryPolicy { Tables = new() { ["admissions"] = ["age", "ward", "length_of_stay"] }, MinRowsPerGroup = 5 },
                    Training = new TrainingPolicy { Columns = new() { ["patients"] = ["*"] } },
                };
                var agent = new PodAgent(config, home, admin.WithKey(registered.ApiKey.ApiKey), line => Step($"{hospital} agent: {line}")) { LongPollSeconds = 2 };
                agents.Add(Task.Run(() => agent.RunAsync(stop.Token), CancellationToken.None));
                Step($"{hospital}: {sizes[i]:N0} admissions in hospital.db, {sizes[i] / 10:N0} patient records in patients.csv; its agent is running");
            }

            AnsiConsole.Write(new Rule("[yellow]Federated SQL: patients per age band and ward, mean length of stay[/]"));
            var query = HospitalAdmissions.AgeBandQuery(minPooledCount: 10);
            var outcome = await QueryCommand.RunAsync(modeller, tenant, "hospital-stays", "analyst", hospitals, query, ct, PinsOf("analyst"));
            QueryCommand.Print(outcome);
            var everyone = hospitals.SelectMany((_, i) => HospitalAdmissions.Generate(100 + i, sizes[i])).ToList();
            var over70 = everyone.Where(a => a.Age >= 70 && a.Ward == "cardiology").ToList();
            var row = outcome.Table.Rows.Single(r => r.Keys[0] == "[70, 80)" && r.Keys[1] == "cardiology");
            var pooled = over70.Where(a => a.Age < 80).ToList();
            Step($"pooled SQL for comparison (this demo plays every hospital): cardiology, 70–79: {pooled.Count} patients, mean stay {pooled.Average(a => a.LengthOfStay):F4} days; "
                + $"the federated answer: {row.Values[0]:N0} patients, mean stay {row.Values[2]:F4} days");

            AnsiConsole.Write(new Rule("[yellow]Federated training: logistic regression of readmission[/]"));
            var training = new TrainingRequest("logistic", "patients", features, "readmitted", Rounds: 15, LearningRate: 0.5, LocalEpochs: 5, Tolerance: 1e-4, RoundTimeoutSeconds: 120);
            var model = await TrainCommand.RunAsync(modeller, tenant, "readmission", "analyst", hospitals, training, ct, PinsOf("analyst"));
            var trainer = LogisticRegressionTrainer.Instance;
            var holdout = SyntheticClassification.Generate(999, 10_000, features.Length, modelSeed: 42);
            var central = CentralTraining.Train(trainer, TrainingData.Concat(hospitals.Select((_, i) => SyntheticClassification.Generate(200 + i, sizes[i] / 10, features.Length, modelSeed: 42)).ToList()), training);
            var federatedAccuracy = Evaluation.Accuracy(trainer, model.Theta, Standardisation.Apply(holdout, model.Standardisation));
            var centralAccuracy = Evaluation.Accuracy(trainer, central.Theta, Standardisation.Apply(holdout, central.Stats));
            Step($"held-out accuracy: federated model {federatedAccuracy:P2}, model trained on the pooled data {centralAccuracy:P2}");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(agents).ContinueWith(_ => { }, TaskScheduler.Default);
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Two customer lists with planted matches that differ in case, spacing, accents and phone formatting: the analyst learns
    /// which of its customers bob-bank also has (ecdh, then kkrt on the same lists, with the speed-up), then only how many
    /// (rsa-blind cardinality); bob-bank learns nothing.
    /// </summary>
    private static async Task RunOverlapAsync(SmpcClient modeller, SmpcClient pod, string tenant, CancellationToken ct)
    {
        var folder = Path.Combine(Path.GetTempPath(), "smpc-demo-psi-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            var planted = CustomerListGenerator.Write(Path.Combine(folder, "analyst.csv"), Path.Combine(folder, "bob-bank.csv"), 2_000, 20_000, 150);
            Step($"analyst.csv: 2,000 customers; bob-bank.csv: 20,000 customers; {planted.Count} people are in both, spelt differently");
            var sources = new Dictionary<string, RecordSourceConfig> { ["customers"] = new() { Kind = "csv", Path = "bob-bank.csv" } };
            var mine = CustomerListGenerator.ModellerColumns.Skip(1).Zip(["text", "email", "phone"], (n, k) => new PsiColumnRequest(n, k, k == "phone" ? "44" : null)).ToList();
            var theirs = CustomerListGenerator.PodColumns.Skip(1).Take(3).Zip(["text", "email", "phone"], (n, k) => new PsiColumnRequest(n, k, k == "phone" ? "44" : null)).ToList();
            // kkrt is served only by pods that list it; bob-bank does.
            var policy = new PsiPolicy { Protocols = [PsiProtocolNames.Ecdh, PsiProtocolNames.RsaBlind, PsiProtocolNames.Kkrt] };
            var seconds = new Dictionary<string, double>();
            foreach (var (session, protocol, mode) in new[]
            {
                ("overlap", PsiProtocolNames.Ecdh, PsiModeNames.Intersection), ("overlap-kkrt", PsiProtocolNames.Kkrt, PsiModeNames.Intersection),
                ("overlap-count", PsiProtocolNames.RsaBlind, PsiModeNames.Cardinality),
            })
            {
                var runner = new PsiPodDriver(pod, tenant, "bob-bank", sources, policy, folder, Path.Combine(folder, "bob-state"), m => Step("bob-bank agent: " + m));
                var watch = System.Diagnostics.Stopwatch.StartNew();
                var serving = ServePsiAsync(runner, pod, tenant, session, ct);
                var spec = new PsiRequest(mode, mine, theirs, "customers", 0, protocol, protocol == PsiProtocolNames.RsaBlind ? 2048 : null, 300);
                var output = mode == PsiModeNames.Intersection ? Path.Combine(folder, "matches.csv") : null;
                var outcome = await PsiCommand.RunAsync(modeller, tenant, session, "analyst", "bob-bank", spec,
                    new RecordSourceConfig { Kind = "csv", Path = "analyst.csv" }, folder, output, reportCount: true, ct);
                await serving;
                seconds[protocol] = watch.Elapsed.TotalSeconds;
                PsiCommand.Print(outcome);
                if (protocol == PsiProtocolNames.Kkrt)
                    Step($"kkrt (OT extension, symmetric crypto after 512 base OTs) took {seconds[protocol]:F2} s, ecdh {seconds[PsiProtocolNames.Ecdh]:F2} s on the same lists: "
                        + $"{seconds[PsiProtocolNames.Ecdh] / Math.Max(seconds[protocol], 1e-3):F1}× faster end to end");
                if (output is not null)
                {
                    var rows = File.ReadLines(output).Skip(1).Take(3).ToList();
                    Step("first matching rows (the analyst's own, unchanged): " + string.Join(" | ", rows));
                    var found = File.ReadLines(output).Skip(1).Select(l => l.Split(',')[0]).Order(StringComparer.Ordinal).ToList();
                    Step(found.SequenceEqual(planted) ? "every planted match found, nothing else" : "[red]the matches differ from the planted ones[/]");
                }
            }
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task ServePsiAsync(PsiPodDriver runner, SmpcClient pod, string tenant, string session, CancellationToken ct)
    {
        while (true)
        {
            var sessions = await pod.ListPodSessionsAsync(tenant, "bob-bank", ct);
            if (sessions.Contains(session)) break;
            await pod.WaitForPodSessionsAsync(tenant, "bob-bank", sessions.LastOrDefault() ?? "-", 5, ct);
        }

        await runner.RunAsync(await pod.GetSessionAsync(tenant, session, ct), ct);
    }

    private static async Task RunScenarioAsync(
        SmpcClient modeller, Dictionary<string, SmpcClient> podClients, Dictionary<string, Ed25519KeyPair> identities, string tenant, string sessionId,
        string[] pods, Dictionary<string, double[]> inputs, AggregationRequest spec, CancellationToken ct)
    {
        // One pin store per party for the whole demo, as a real modeller or agent keeps: first use is announced once, and
        // every later scenario holds the peers to the same keys.
        var modellerTask = AggregateCommand.RunAsync(modeller, tenant, sessionId, "analyst", pods, spec, ct, PinsOf("analyst"));
        while (true)
        {
            if (modellerTask.IsFaulted) await modellerTask; // e.g. the service refused the session: show why
            try
            {
                await modeller.GetSessionAsync(tenant, sessionId, ct);
                break;
            }
            catch (SmpcApiException)
            {
                await Task.Delay(50, ct);
            }
        }

        var podTasks = pods.Select(p => new SecureAggregationPodDriver(podClients[p], tenant, sessionId, p, identities[p], _ => inputs[p], pins: PinsOf(p))
        {
            PollInterval = TimeSpan.FromMilliseconds(50),
        }.RunAsync(ct)).ToList();
        var outcome = await modellerTask;
        await Task.WhenAll(podTasks);
        AggregateCommand.Print(outcome);
        var field = spec.Fields[0].Name;
        var plain = Enumerable.Range(0, spec.Fields[0].Length).Select(k => inputs.Values.Average(v => v[k])).ToArray();
        Step("plain average, for comparison:        " + string.Join(", ", plain.Select(v => v.ToString("G10", CultureInfo.InvariantCulture))));
        Step("secure average computed by the modeller: " + string.Join(", ", outcome.Values[field].Select(v => v.ToString("G10", CultureInfo.InvariantCulture))));
    }

    private static void Step(string text) => AnsiConsole.MarkupLineInterpolated($"[blue]›[/] {text}");


    /// <summary>The demo party's pin store (in memory: the demo's tenant lives only as long as the process).</summary>
    private static PinStore PinsOf(string party) =>
        DemoPins.GetOrAdd(party, p => AggregationSession.EphemeralPins(line => Step($"{p}: {line}")));

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
