using Smpc.Agent.DataSources;
using Smpc.Agent.Training;
using Smpc.Client.Federated;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Training;
using Smpc.Samples;

namespace Smpc.Gateway.Tests.Federated;

/// <summary>
/// Federated training (FedAvg) through the real gateway, grains and pod agents: three pods hold CSV rows drawn from one
/// synthetic logistic model; the modeller receives only the averaged parameters of each round.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class FederatedTrainingEndToEndTests(EmbeddedService service)
{
    private static readonly string[] Pods = ["a", "b", "c"];
    private static readonly string[] Features = ["x1", "x2", "x3", "x4"];
    private static readonly Dictionary<string, int> Rows = new() { ["a"] = 700, ["b"] = 1500, ["c"] = 300 };

    private static TrainingData DataOf(string pod) => SyntheticClassification.Generate(Array.IndexOf(Pods, pod) + 1, Rows[pod], Features.Length, modelSeed: 7);

    private static TrainingRequest Request(int rounds, double tolerance = 0) =>
        new("logistic", "patients", Features, "y", rounds, LearningRate: 0.5, LocalEpochs: 5, Tolerance: tolerance, RoundTimeoutSeconds: 300);

    private static Task<FederatedPods> StartAsync(EmbeddedService service) => FederatedPods.StartAsync(service, Pods, (pod, folder, config) =>
    {
        SyntheticClassification.WriteCsv(Path.Combine(folder, "patients.csv"), DataOf(pod), Features, "y");
        return config with
        {
            Sources = new() { ["patients"] = new RecordSourceConfig { Kind = "csv", Path = "patients.csv" } },
            Training = new TrainingPolicy { Columns = new() { ["patients"] = ["*"] } },
        };
    });

    [Fact]
    public async Task AfterOneRound_TheModelIsThePlainSampleWeightedAverageOfThePodsLocalModels()
    {
        await using var pods = await StartAsync(service);
        var request = Request(rounds: 1);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var outcome = await FederatedTrainingRun.RunAsync(pods.Modeller, pods.Tenant, "train-1", "m1", Pods, request, ct: cts.Token);

        // What each pod computed locally, from the pooled standardisation, averaged in the clear for comparison.
        var trainer = LogisticRegressionTrainer.Instance;
        var pooled = Standardisation.Compute(TrainingData.Concat(Pods.Select(DataOf).ToList()));
        Assert.Equal(pooled.Mean, outcome.Standardisation.Mean, (x, y) => Math.Abs(x - y) < 1e-6);
        Assert.Equal(pooled.Std, outcome.Standardisation.Std, (x, y) => Math.Abs(x - y) < 1e-6);
        var expected = new double[trainer.ParameterCount(Features.Length)];
        foreach (var pod in Pods)
        {
            var local = FedAvgRound.PodUpdate(trainer, new double[expected.Length], Standardisation.Apply(DataOf(pod), outcome.Standardisation), request, 1).LocalTheta;
            for (var k = 0; k < expected.Length; k++) expected[k] += Rows[pod] * local[k] / Rows.Values.Sum();
        }

        Assert.Equal(expected, outcome.Theta, (x, y) => Math.Abs(x - y) < 1e-6);
        Assert.Single(outcome.Rounds);
        Assert.Equal(Rows.Values.Sum(), outcome.Rounds[0].Samples);
        Assert.Equal(Math.Log(2), outcome.Rounds[0].Loss, 4); // the loss of θ = 0, pooled over every row
    }

    [Fact]
    public async Task LogisticRegressionOverThreePods_ConvergesToTheAccuracyOfTrainingOnThePooledData()
    {
        await using var pods = await StartAsync(service);
        var request = Request(rounds: 15);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));

        var outcome = await FederatedTrainingRun.RunAsync(pods.Modeller, pods.Tenant, "train-demo", "m1", Pods, request, ct: cts.Token);

        var trainer = LogisticRegressionTrainer.Instance;
        var holdout = SyntheticClassification.Generate(99, 4000, Features.Length, modelSeed: 7);
        var central = CentralTraining.Train(trainer, TrainingData.Concat(Pods.Select(DataOf).ToList()), request);
        var federatedAccuracy = Evaluation.Accuracy(trainer, outcome.Theta, Standardisation.Apply(holdout, outcome.Standardisation));
        var centralAccuracy = Evaluation.Accuracy(trainer, central.Theta, Standardisation.Apply(holdout, central.Stats));
        Assert.True(Math.Abs(federatedAccuracy - centralAccuracy) < 0.02, $"federated {federatedAccuracy:P2} vs pooled {centralAccuracy:P2}");
        Assert.True(federatedAccuracy > 0.8, $"federated accuracy {federatedAccuracy:P2}");
        Assert.True(outcome.Rounds[^1].Loss < outcome.Rounds[0].Loss * 0.7, "the pooled loss falls");

        // Progress is on the session resource: one round per SA session, with the pooled loss the modeller published.
        var session = await pods.Modeller.GetSessionAsync(pods.Tenant, "train-demo");
        Assert.Equal(SessionPhases.Completed, session.Phase);
        Assert.Equal(outcome.Rounds.Count + 1, session.Federated!.Rounds.Count); // plus the standardisation round
        Assert.Equal(outcome.Rounds.Select(r => r.Loss), session.Federated.Metrics.Select(m => m.Values["loss"]));
        Assert.DoesNotContain(session.Federated.Metrics, m => m.Values.ContainsKey("theta"));
        var names = FederatedPods.SpanNames(service, session);
        string[] expectedSpans = ["train.round", "train.local_fit", "federated.round", "federated.metrics", "secagg.unmask"];
        Assert.Equal([], expectedSpans.Except(names));
    }

    [Fact]
    public async Task ARoundBeyondTheDeclaredRounds_IsRefusedByThePods()
    {
        await using var pods = await StartAsync(service);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var request = Request(rounds: 2);
        using var modeller = await FederatedModeller.CreateAsync(pods.Modeller, pods.Tenant, new CreateSessionRequest("train-extra", "m1", SessionKinds.Training, Pods, Training: request), ct: cts.Token);
        await modeller.OpenChannelAsync(TimeSpan.FromMinutes(1), cts.Token);
        var stats = Standardisation.FromSums((await modeller.RunRoundAsync("standardise", Pods, Standardisation.Fields(request, Features.Length), 60, cts.Token)).Values);
        await modeller.ReleaseAsync("round-3", new TrainingBroadcast(3, new double[Features.Length + 1], stats.Mean, stats.Std), cts.Token);

        var failure = await Assert.ThrowsAsync<FederatedSessionFailedException>(() =>
            modeller.RunRoundAsync("round-3", Pods, FedAvgRound.Fields(request, Features.Length + 1), 60, cts.Token));

        Assert.Contains("training has no round 'round-3' (rounds are round-1 to round-2)", failure.Message);
    }

    [Fact]
    public async Task APodWhosePolicyDoesNotOpenTheColumns_DeclinesWithItsReason()
    {
        await using var pods = await FederatedPods.StartAsync(service, Pods, (pod, folder, config) =>
        {
            SyntheticClassification.WriteCsv(Path.Combine(folder, "patients.csv"), DataOf(pod), Features, "y");
            return config with
            {
                Sources = new() { ["patients"] = new RecordSourceConfig { Kind = "csv", Path = "patients.csv" } },
                Training = new TrainingPolicy { Columns = new() { ["patients"] = pod == "b" ? ["x1", "x2", "y"] : ["*"] } },
            };
        });
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var failure = await Assert.ThrowsAsync<FederatedSessionFailedException>(() =>
            FederatedTrainingRun.RunAsync(pods.Modeller, pods.Tenant, "train-refused", "m1", Pods, Request(3), ct: cts.Token));

        Assert.Contains("Pod b declined", failure.Message);
        Assert.Contains("x3", failure.Message);
    }
}
