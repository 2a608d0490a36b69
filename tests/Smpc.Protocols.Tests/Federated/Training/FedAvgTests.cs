using System.Text.Json;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Training;
using Smpc.Samples;
using Xunit.Abstractions;

namespace Smpc.Protocols.Tests.Federated.Training;

public sealed class FedAvgTests(ITestOutputHelper output)
{
    private static readonly string[] FeatureNames = ["f1", "f2", "f3", "f4", "f5"];

    [Theory]
    [InlineData("linear")]
    [InlineData("logistic")]
    public void Fields_AtTheDefaultBounds_PassTheCodecAtFiftyParties_AndTheLargestInputEncodes(string trainer)
    {
        var request = new TrainingRequest(trainer, "s", FeatureNames, "y");
        var p = Trainers.Get(trainer).ParameterCount(5);

        var fields = FedAvgRound.Fields(request, p);

        Assert.Equal(["weighted", "samples", "loss"], fields.Select(f => f.Name));
        Assert.Equal([6, 1, 1], fields.Select(f => f.Length));
        Assert.True(fields[0].Precision >= 1_000_000);
        Assert.Equal(1, fields[1].Precision);
        Assert.True(fields[2].Precision >= 100);
        var codec = SecureSums.Codec(fields);
        const double N = 1_000_000;
        codec.Encode([.. Enumerable.Repeat(100 * N, 3), .. Enumerable.Repeat(-100 * N, 3), N, N * FedAvgRound.SampleLossBound(request)]);
    }

    [Fact]
    public void Fields_WhoseBoundsCannotBeEncoded_AreRefusedUpFrontSayingWhatToLower()
    {
        var request = new TrainingRequest("logistic", "s", FeatureNames, "y", ParameterBound: 1e6);

        var error = Assert.Throws<ArgumentException>(() => FedAvgRound.Fields(request, 6));

        Assert.Contains("field 'weighted'", error.Message, StringComparison.Ordinal);
        Assert.Contains("lower ParameterBound or MaxSamplesPerPod", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Average_OfThreePodsSecureSums_IsTheSampleWeightedAverageOfTheirParameters()
    {
        var request = new TrainingRequest("logistic", "s", ["a", "b", "c"], "y");
        var fields = FedAvgRound.Fields(request, 4);
        long[] n = [120, 4507, 31];
        double[][] theta = [[1.23456789, -99.5, 0.000001, 42], [-3.3, 17.25, 99.99, -0.5], [0.1, 0.2, -100, 100]];
        double[] loss = [0.6931, 0.25, 27.5];

        var average = FedAvgRound.Average(SecureSums.Of(fields, n.Select((ni, i) => (double[])[.. theta[i].Select(t => ni * t), ni, ni * loss[i]])));

        var total = n.Sum();
        var tolerance = n.Length * 0.5 / fields[0].Precision!.Value / total;
        Assert.Equal(total, average.Samples);
        for (var j = 0; j < 4; j++)
        {
            var expected = n.Select((ni, i) => ni * theta[i][j]).Sum() / total;
            Assert.Equal(expected, average.Theta[j], tolerance + 1e-12);
        }

        Assert.Equal(n.Select((ni, i) => ni * loss[i]).Sum() / total, average.MeanLoss, n.Length * 0.5 / fields[2].Precision!.Value / total);
    }

    [Fact]
    public void PodUpdate_SubmitsWeightedLocalParameters_SampleCount_AndLossAtTheBroadcastParameters()
    {
        var request = new TrainingRequest("logistic", "s", ["a", "b", "c"], "y", LearningRate: 0.5, LocalEpochs: 3);
        var raw = SyntheticClassification.Generate(6, 250, 3);
        var data = Standardisation.Apply(raw, Standardisation.Compute(raw));
        var trainer = Trainers.Get("logistic");
        double[] theta = [0.2, -0.1, 0.3, 0.05];

        var update = FedAvgRound.PodUpdate(trainer, theta, data, request, round: 4);

        var local = trainer.Fit(theta, data, new LocalFitOptions(0.5, 3, 0, Seed: 4));
        Assert.Equal(local, update.LocalTheta);
        Assert.Equal(trainer.Loss(theta, data), update.Loss);
        Assert.Equal([.. local.Select(t => 250 * t), 250, 250 * update.Loss], update.Input);
        SecureSums.Codec(FedAvgRound.Fields(request, 4)).Encode(update.Input);
    }

    [Fact]
    public void PodUpdate_LocalParameterBeyondParameterBound_IsRefusedNotClipped()
    {
        var request = new TrainingRequest("logistic", "s", ["a", "b", "c"], "y", LearningRate: 1, ParameterBound: 0.05);
        var raw = SyntheticClassification.Generate(7, 200, 3, separable: true);
        var data = Standardisation.Apply(raw, Standardisation.Compute(raw));

        var error = Assert.Throws<TrainingRefusedException>(() => FedAvgRound.PodUpdate(Trainers.Get("logistic"), new double[4], data, request, 1));

        Assert.Equal("round 1: the locally trained parameters exceed ParameterBound = 0.05; raise ParameterBound or lower LearningRate", error.Message);
    }

    [Fact]
    public void PodUpdate_DivergingLocalTraining_IsRefused()
    {
        // A learning rate far above 2/λmax makes gradient descent on least squares blow up.
        var request = new TrainingRequest("linear", "s", ["a", "b", "c"], "y", LearningRate: 50, LocalEpochs: 400, ParameterBound: 1e300);
        var raw = SyntheticClassification.Generate(8, 200, 3);
        var data = Standardisation.Apply(raw, Standardisation.Compute(raw));

        var error = Assert.Throws<TrainingRefusedException>(() => FedAvgRound.PodUpdate(Trainers.Get("linear"), new double[4], data, request, 1));

        Assert.Equal("round 1: the locally trained parameters are not all finite numbers; the model has diverged (lower LearningRate)", error.Message);
    }

    [Fact]
    public void PodUpdate_LossAboveTheBound_IsRefused()
    {
        // Labels within ±FeatureBound = 10 but predictions around ±100·√3: the mean loss is far above 2·10².
        var request = new TrainingRequest("linear", "s", ["a", "b", "c"], "y", FeatureBound: 10);
        var raw = SyntheticClassification.Generate(9, 100, 3);
        var data = Standardisation.Apply(raw, Standardisation.Compute(raw));

        var error = Assert.Throws<TrainingRefusedException>(() => FedAvgRound.PodUpdate(Trainers.Get("linear"), [100, 100, 100, 0], data, request, 2));

        Assert.Equal("round 2: the mean loss at the broadcast parameters exceeds the loss bound of 200; the model has diverged (lower LearningRate)", error.Message);
    }

    [Theory]
    [InlineData(100.5, "round 3: the broadcast parameters exceed ParameterBound = 100; raise ParameterBound or lower LearningRate")]
    [InlineData(double.NaN, "round 3: the broadcast parameters are not all finite numbers; the model has diverged (lower LearningRate)")]
    public void PodUpdate_BroadcastOutOfBounds_IsRefused(double value, string expected)
    {
        var raw = SyntheticClassification.Generate(10, 10, 3);

        var error = Assert.Throws<TrainingRefusedException>(() =>
            FedAvgRound.PodUpdate(Trainers.Get("logistic"), [0, value, 0, 0], raw, new TrainingRequest("logistic", "s", ["a", "b", "c"], "y"), 3));

        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void PodUpdate_BroadcastOfTheWrongLength_IsRefused()
    {
        var raw = SyntheticClassification.Generate(10, 10, 3);

        var error = Assert.Throws<TrainingRefusedException>(() =>
            FedAvgRound.PodUpdate(Trainers.Get("logistic"), [0, 0, 0], raw, new TrainingRequest("logistic", "s", ["a", "b", "c"], "y"), 1));

        Assert.Equal("round 1: the broadcast has 3 parameters; logistic on 3 features has 4", error.Message);
    }

    [Theory]
    [InlineData(new double[] { 0, 0 }, new double[] { 0.00009, 0 }, true)]
    [InlineData(new double[] { 0, 0 }, new double[] { 0.0001, 0 }, false)]
    [InlineData(new double[] { 300, 400 }, new double[] { 300.04, 400 }, true)]
    [InlineData(new double[] { 300, 400 }, new double[] { 300.06, 400 }, false)]
    public void Converged_ComparesTheChangeWithTheLargerOfOneAndTheNorm(double[] previous, double[] next, bool expected)
    {
        Assert.Equal(expected, FedAvgRound.Converged(previous, next, 1e-4));
    }

    [Fact]
    public void Broadcast_RoundTripsThroughJson()
    {
        var broadcast = new TrainingBroadcast(3, [0.1, -2.5e-7, 1], [4, 5], [0.5, 1e10]);

        var back = JsonSerializer.Deserialize<TrainingBroadcast>(JsonSerializer.Serialize(broadcast, JsonSerializerOptions.Web), JsonSerializerOptions.Web)!;

        Assert.Equal(3, back.Round);
        Assert.Equal(broadcast.Theta, back.Theta);
        Assert.Equal(broadcast.Mean, back.Mean);
        Assert.Equal(broadcast.Std, back.Std);
    }

    [Fact]
    public void FederatedRun_OfThreePods_ConvergesToTheAccuracyOfCentralTrainingOnThePooledRows()
    {
        var request = new TrainingRequest("logistic", "s", FeatureNames, "y", Rounds: 200, LearningRate: 0.5, LocalEpochs: 5, Tolerance: 1e-3);
        var trainer = Trainers.Get(request.Trainer);
        TrainingData[] pods = [SyntheticClassification.Generate(1, 700, 5), SyntheticClassification.Generate(2, 1500, 5), SyntheticClassification.Generate(3, 300, 5)];
        var test = SyntheticClassification.Generate(99, 5000, 5);

        var (theta, stats, losses) = Federate(request, trainer, pods);
        var central = CentralTraining.Train(trainer, TrainingData.Concat(pods), request);

        Assert.True(losses.Count < request.Rounds, $"no convergence within {request.Rounds} rounds");
        Assert.True(losses[0] > losses[^1] && Math.Abs(losses[0] - Math.Log(2)) < 1e-6, $"losses {string.Join(", ", losses)}");
        Assert.All(losses.Zip(losses.Skip(1)), pair => Assert.True(pair.Second <= pair.First + 1e-9));
        var federatedAccuracy = Evaluation.Accuracy(trainer, theta, Standardisation.Apply(test, stats));
        var centralAccuracy = Evaluation.Accuracy(trainer, central.Theta, Standardisation.Apply(test, central.Stats));
        output.WriteLine($"{losses.Count} rounds, pooled loss {losses[0]:F4} → {losses[^1]:F4}; accuracy federated {federatedAccuracy:P2}, central {centralAccuracy:P2}");
        Assert.True(centralAccuracy > 0.8, $"central accuracy {centralAccuracy}");
        Assert.True(Math.Abs(federatedAccuracy - centralAccuracy) <= 0.02, $"federated {federatedAccuracy}, central {centralAccuracy}");
    }

    /// <summary>The protocol with the service replaced by <see cref="SecureSums"/> and the sealed broadcast by JSON.</summary>
    private static (double[] Theta, StandardisationStats Stats, List<double> Losses) Federate(TrainingRequest request, ILocalTrainer trainer, TrainingData[] pods)
    {
        var stats = Standardisation.FromSums(SecureSums.Of(Standardisation.Fields(request, 5), pods.Select(Standardisation.Input)));
        var fields = FedAvgRound.Fields(request, trainer.ParameterCount(5));
        var theta = new double[trainer.ParameterCount(5)];
        var losses = new List<double>();
        for (var round = 1; round <= request.Rounds; round++)
        {
            var json = JsonSerializer.Serialize(new TrainingBroadcast(round, theta, stats.Mean, stats.Std));
            var inputs = pods.Select(raw =>
            {
                var broadcast = JsonSerializer.Deserialize<TrainingBroadcast>(json)!;
                var data = Standardisation.Apply(raw, new StandardisationStats(raw.Count, broadcast.Mean, broadcast.Std));
                return FedAvgRound.PodUpdate(trainer, broadcast.Theta, data, request, broadcast.Round).Input;
            });
            var average = FedAvgRound.Average(SecureSums.Of(fields, inputs));
            Assert.Equal(2500, average.Samples);
            losses.Add(average.MeanLoss);
            var converged = FedAvgRound.Converged(theta, average.Theta, request.Tolerance);
            theta = average.Theta;
            if (converged) break;
        }

        return (theta, stats, losses);
    }
}
