using System.Diagnostics;
using System.Globalization;
using Smpc.Agent;
using Smpc.Agent.DataSources;
using Smpc.Agent.Training;
using Smpc.Client.Federated;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Training;
using Smpc.Samples;

namespace Smpc.Bench;

/// <summary>
/// End-to-end federated training (FedAvg) through a real silo process: <c>--pods</c> real <see cref="PodAgent"/>s
/// in this process, each over a CSV of <c>--rows</c> rows of <see cref="SyntheticClassification"/> data with
/// <c>--parameters</c> − 1 features (one model, its own sample), and the modeller (<see cref="FederatedTrainingRun"/>) here
/// too, running every round (Tolerance 0). Measured: the time per round and the pods' local training per round
/// (<c>train.local_fit</c> spans, max over pods). Baseline in the same run: <see cref="CentralTraining.Train"/> on the
/// pooled rows, per equivalent round; the two models' pooled loss and held-out accuracy are compared.
/// <c>dotnet run -c Release --project bench/Smpc.Bench -- train [--pods 5] [--rounds 20] [--parameters 1000] [--rows 2000] [--trainer logistic|linear] [--epochs 5] [--lr 0.5]</c>
/// </summary>
public static class TrainingHarness
{
    private const string Tenant = "bench";
    private const string Source = "patients";
    private const string Label = "y";

    public static async Task<int> RunAsync(string[] args)
    {
        var podCount = int.Parse(BenchArgs.Arg(args, "--pods") ?? "5", CultureInfo.InvariantCulture);
        var rounds = int.Parse(BenchArgs.Arg(args, "--rounds") ?? "20", CultureInfo.InvariantCulture);
        var parameters = int.Parse(BenchArgs.Arg(args, "--parameters") ?? "1000", CultureInfo.InvariantCulture);
        var rows = int.Parse(BenchArgs.Arg(args, "--rows") ?? "2000", CultureInfo.InvariantCulture);
        var trainerName = BenchArgs.Arg(args, "--trainer") ?? LogisticRegressionTrainer.TrainerName;
        var epochs = int.Parse(BenchArgs.Arg(args, "--epochs") ?? "5", CultureInfo.InvariantCulture);
        var trainer = Trainers.Get(trainerName);
        var learningRate = double.Parse(BenchArgs.Arg(args, "--lr") ?? (trainer.BinaryLabels ? "0.5" : "0.2"), CultureInfo.InvariantCulture);
        if (podCount < 1 || rounds < 1 || parameters < 2 || rows < 1) throw new ArgumentException("--pods, --rounds, --rows must be positive and --parameters at least 2");
        var features = parameters - 1;
        var featureNames = Enumerable.Range(1, features).Select(j => $"x{j}").ToArray();
        var pods = Enumerable.Range(1, podCount).Select(i => $"p{i}").ToArray();

        // Bounds: the synthetic features stay within ±170 and labels are 0/1, so FeatureBound 1000 holds; MaxSamplesPerPod is
        // the pods' row count. Sizing the fields here fails with the library's own message if they cannot be encoded.
        var request = new TrainingRequest(trainer.Name, Source, featureNames, Label, rounds, learningRate, epochs, BatchSize: 0, Tolerance: 0,
            RoundTimeoutSeconds: 300, ParameterBound: 100, FeatureBound: 1000, MaxSamplesPerPod: rows);
        var roundFields = FedAvgRound.Fields(request, trainer.ParameterCount(features));
        _ = Standardisation.Fields(request, features);

        FederatedBench.Header(
            $"federated training (FedAvg, {trainer.Name}): {podCount} pods x {rows:N0} rows, {features} features = {parameters} parameters, {rounds} rounds x {epochs} local epochs (full batch, lr {learningRate}), Tolerance 0",
            $"dotnet run -c Release --project bench/Smpc.Bench -- train --pods {podCount} --rounds {rounds} --parameters {parameters} --rows {rows} --trainer {trainer.Name} --epochs {epochs} --lr {learningRate.ToString(CultureInfo.InvariantCulture)}");
        Console.WriteLine($"# round vector: {string.Join(", ", roundFields.Select(f => $"{f.Name}[{f.Length}] ±{Math.Max(Math.Abs(f.Min), Math.Abs(f.Max)):G3} at precision {f.Precision}"))}");

        // Data (not measured): each pod's sample of one model (modelSeed 1) as CSV, and a held-out sample of the same model.
        var work = FederatedBench.WorkFolder("train");
        var prepare = Stopwatch.StartNew();
        var data = new TrainingData[podCount];
        await Parallel.ForEachAsync(Enumerable.Range(0, podCount), (i, _) =>
        {
            data[i] = SyntheticClassification.Generate(i + 1, rows, features, modelSeed: 1);
            Directory.CreateDirectory(Path.Combine(work, pods[i]));
            SyntheticClassification.WriteCsv(Path.Combine(work, pods[i], "patients.csv"), data[i], featureNames, Label);
            return ValueTask.CompletedTask;
        });
        var holdout = SyntheticClassification.Generate(1_000_000, Math.Max(2000, rows), features, modelSeed: 1);
        Console.WriteLine($"data: {podCount} CSV files ({new FileInfo(Path.Combine(work, pods[0], "patients.csv")).Length / 1048576.0:F1} MiB each) written in {prepare.Elapsed.TotalSeconds:F1} s (not measured)");

        await using var spans = new SpanRecorder();
        await using var service = await FederatedBench.StartServiceAsync(work);
        await using var agents = await service.StartPodsAsync(pods, (pod, config) => config with
        {
            Sources = new() { [Source] = new RecordSourceConfig { Kind = "csv", Path = "patients.csv" } },
            Training = new TrainingPolicy { Columns = new() { [Source] = ["*"] } },
        });

        var watch = Stopwatch.StartNew();
        var outcome = await FederatedTrainingRun.RunAsync(service.Modeller, Tenant, "train-bench", FederatedBench.ModellerId, pods, request,
            progress: r => Console.Write(r.Round == 1 ? $"rounds: {r.Round}" : $" {r.Round}"));
        var total = watch.Elapsed.TotalSeconds;
        var federatedRss = BenchArgs.PeakRss();
        Console.WriteLine();
        if (outcome.Session.Phase != SessionPhases.Completed) throw new InvalidOperationException($"the training session ended {outcome.Session.Phase}");
        if (outcome.Rounds.Count != rounds) throw new InvalidOperationException($"{outcome.Rounds.Count} rounds ran, not {rounds}");

        // Baseline: the same trainer on the pooled rows for Rounds × LocalEpochs passes.
        var pooledRaw = TrainingData.Concat(data);
        watch.Restart();
        var central = CentralTraining.Train(trainer, pooledRaw, request);
        var centralSeconds = watch.Elapsed.TotalSeconds;

        var trace = FederatedBench.TraceId(outcome.Session);
        var parent = outcome.Session.Id;
        var byRound = new List<(int Round, double Duration, double Aggregation, double FitMax, double FitMean, double PodRoundMax)>();
        var roundSpans = spans.Snapshot("federated.round", trace).ToDictionary(s => s.Tag("smpc.round") ?? "?", s => s.Seconds);
        var fits = spans.Snapshot("train.local_fit", trace).GroupBy(s => s.Tag("smpc.session") ?? "?").ToDictionary(g => g.Key, g => g.Select(s => s.Seconds).ToList());
        var podRounds = spans.Snapshot("train.round", trace).GroupBy(s => s.Tag("smpc.session") ?? "?").ToDictionary(g => g.Key, g => g.Max(s => s.Seconds));
        foreach (var r in outcome.Rounds)
        {
            var label = $"round-{r.Round}";
            var id = FederatedModeller.RoundSessionId(parent, label);
            var fit = fits.GetValueOrDefault(id) ?? [];
            byRound.Add((r.Round, r.Duration.TotalSeconds, roundSpans.GetValueOrDefault(label), fit.DefaultIfEmpty(0).Max(), fit.DefaultIfEmpty(0).Average(), podRounds.GetValueOrDefault(id)));
        }

        var fitCounts = outcome.Rounds.Select(r => fits.GetValueOrDefault(FederatedModeller.RoundSessionId(parent, $"round-{r.Round}"))?.Count ?? 0).ToList();
        var durations = byRound.Select(r => r.Duration).ToList();
        var fitMax = byRound.Select(r => r.FitMax).ToList();
        var laterFitMax = byRound.Skip(1).Select(r => r.FitMax).DefaultIfEmpty(0).ToList();
        var centralPerRound = centralSeconds / rounds;
        Console.WriteLine();
        Console.WriteLine($"{$"per round ({rounds} rounds), seconds",-72} {"mean",7}  {"p50",7}  {"max",7}");
        Stats("round time (FederatedTrainingRun: release θ -> SA round -> average)", durations);
        Stats("  secure-aggregation round (federated.round span, modeller)", [.. byRound.Select(r => r.Aggregation)]);
        Stats("  pod round (train.round span: read release + fit), max over pods", [.. byRound.Select(r => r.PodRoundMax)]);
        Stats("  local fit (train.local_fit), max over pods", fitMax);
        Stats("  local fit (train.local_fit), mean over pods", [.. byRound.Select(r => r.FitMean)]);
        Stats("  local fit, max over pods, rounds 2.. (round 1 also standardises)", laterFitMax);
        Stats("baseline: CentralTraining.Train on pooled rows / rounds", [centralPerRound]);
        Console.WriteLine($"(train.local_fit spans per round: {string.Join(",", fitCounts.Distinct())} — one per pod expected)");
        var standardise = roundSpans.GetValueOrDefault(Standardisation.RoundName);
        var channel = spans.Durations("federated.open_channel", trace).DefaultIfEmpty(0).Sum();
        Console.WriteLine($"whole session {total:F2} s: channel open (pods load CSV, join) {channel:F2} s, standardise round {standardise:F2} s, {rounds} rounds {durations.Sum():F2} s, rest {total - channel - standardise - durations.Sum():F2} s");
        Console.WriteLine();
        Console.WriteLine($"ratio round time / local fit (means; fit = max over pods): {durations.Average() / fitMax.Average():F1}");
        Console.WriteLine($"ratio round time / central training per equivalent round:  {durations.Average() / centralPerRound:F1}  (central: {centralSeconds:F2} s for {rounds} x {epochs} epochs over {pooledRaw.Count:N0} rows)");

        // Quality: the final θ of each, on the pooled training rows and on a held-out sample of the same model.
        var federatedPooled = Standardisation.Apply(pooledRaw, outcome.Standardisation);
        var centralPooled = Standardisation.Apply(pooledRaw, central.Stats);
        var federatedHoldout = Standardisation.Apply(holdout, outcome.Standardisation);
        var centralHoldout = Standardisation.Apply(holdout, central.Stats);
        var quality = trainer.BinaryLabels ? "held-out accuracy" : "held-out RMSE";
        double Quality(double[] theta, TrainingData rowsOf) =>
            trainer.BinaryLabels ? Evaluation.Accuracy(trainer, theta, rowsOf) : Evaluation.RootMeanSquaredError(trainer, theta, rowsOf);
        Console.WriteLine();
        Console.WriteLine($"model                     pooled loss   {quality} ({holdout.Count:N0} rows)");
        Console.WriteLine($"federated (final θ)       {trainer.Loss(outcome.Theta, federatedPooled),11:F5}   {Quality(outcome.Theta, federatedHoldout),10:F4}");
        Console.WriteLine($"central (pooled rows)     {trainer.Loss(central.Theta, centralPooled),11:F5}   {Quality(central.Theta, centralHoldout),10:F4}");
        Console.WriteLine($"federated loss as reported by the rounds (at each round's broadcast θ): first {outcome.Rounds[0].Loss:F5}, last {outcome.Rounds[^1].Loss:F5}");
        Console.WriteLine($"peak RSS: silo + co-hosted gateway {service.Silo.PeakResidentBytes() >> 20} MiB; this process (modeller and all {podCount} pod agents, with the harness's copy of their data) {federatedRss >> 20} MiB, {BenchArgs.PeakRss() >> 20} MiB after the pooled baseline");
        await agents.DisposeAsync();
        await service.DisposeAsync();
        FederatedBench.Delete(work);
        return 0;
    }

    private static void Stats(string label, IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToList();
        var p50 = sorted.Count == 0 ? 0 : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
        Console.WriteLine($"{label,-72} {values.DefaultIfEmpty(0).Average(),7:F3}  {p50,7:F3}  {sorted.DefaultIfEmpty(0).Max(),7:F3}");
    }
}
