using Smpc.Protocols.Federated.Training;
using Smpc.Samples;

namespace Smpc.Protocols.Tests.Federated.Training;

public sealed class TrainerTests
{
    [Fact]
    public void LinearRegression_OnStandardisedFeatures_RecoversTheKnownRawCoefficients()
    {
        // y = 3·x₁ − 2·x₂ + 0.5·x₃ + 7 with raw features of very different scales and a little noise.
        var random = new Random(11);
        double[] beta = [3, -2, 0.5];
        const double Intercept = 7;
        var rows = new List<double[]>();
        var labels = new List<double>();
        for (var i = 0; i < 2000; i++)
        {
            double[] x = [random.NextDouble() * 10, 50 + random.NextDouble() * 100, -5 + random.NextDouble() * 0.5];
            rows.Add(x);
            labels.Add(beta[0] * x[0] + beta[1] * x[1] + beta[2] * x[2] + Intercept + (random.NextDouble() - 0.5) * 0.01);
        }

        var raw = TrainingData.FromRows(rows, labels);
        var stats = Standardisation.Compute(raw);
        var data = Standardisation.Apply(raw, stats);
        var trainer = Trainers.Get("linear");

        var theta = trainer.Fit(new double[4], data, new LocalFitOptions(LearningRate: 0.5, Epochs: 300));
        var coefficients = Standardisation.ToRawScale(theta, stats);

        for (var j = 0; j < 3; j++) Assert.Equal(beta[j], coefficients[j], 1e-3);
        Assert.Equal(Intercept, coefficients[3], 0.05);
        Assert.True(trainer.Loss(theta, data) < 1e-4, $"loss {trainer.Loss(theta, data)}");
        Assert.True(Evaluation.RootMeanSquaredError(trainer, theta, data) < 0.01);
    }

    [Fact]
    public void LogisticRegression_OnSeparableData_ReachesHighAccuracyOnTrainingAndFreshRows()
    {
        var raw = SyntheticClassification.Generate(seed: 1, rows: 2000, features: 4, separable: true);
        var fresh = SyntheticClassification.Generate(seed: 2, rows: 2000, features: 4, separable: true);
        var stats = Standardisation.Compute(raw);
        var trainer = Trainers.Get("logistic");

        var theta = trainer.Fit(new double[5], Standardisation.Apply(raw, stats), new LocalFitOptions(LearningRate: 1, Epochs: 300));

        Assert.True(Evaluation.Accuracy(trainer, theta, Standardisation.Apply(raw, stats)) >= 0.97);
        Assert.True(Evaluation.Accuracy(trainer, theta, Standardisation.Apply(fresh, stats)) >= 0.97);
        Assert.Equal(0.5, Evaluation.Accuracy(trainer, new double[5], Standardisation.Apply(raw, stats)), 0.2);
    }

    [Fact]
    public void LogisticLoss_OfAConfidentMistake_IsClampedAtMinusLnOneTrillionth()
    {
        var data = new TrainingData([1.0], [0.0], featureCount: 1);
        var trainer = Trainers.Get("logistic");

        Assert.Equal(-Math.Log(1e-12), trainer.Loss([1000, 0], data), 1e-9);
        Assert.Equal(-Math.Log(1 - 1e-12), trainer.Loss([-1000, 0], data), 1e-15);
        Assert.Equal(Math.Log(2), trainer.Loss([0, 0], data), 1e-12);
    }

    [Fact]
    public void Fit_WithMiniBatches_IsDeterministicInTheSeed_AndLeavesThetaUnchanged()
    {
        var data = Standardisation.Apply(SyntheticClassification.Generate(3, 500, 3), Standardisation.Compute(SyntheticClassification.Generate(3, 500, 3)));
        var trainer = Trainers.Get("logistic");
        double[] theta = [0.1, 0.2, 0.3, 0.4];

        var a = trainer.Fit(theta, data, new LocalFitOptions(0.1, Epochs: 3, BatchSize: 32, Seed: 7));
        var b = trainer.Fit(theta, data, new LocalFitOptions(0.1, Epochs: 3, BatchSize: 32, Seed: 7));
        var c = trainer.Fit(theta, data, new LocalFitOptions(0.1, Epochs: 3, BatchSize: 32, Seed: 8));
        var full = trainer.Fit(theta, data, new LocalFitOptions(0.1, Epochs: 3));

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.NotEqual(a, full);
        Assert.Equal([0.1, 0.2, 0.3, 0.4], theta);
        Assert.True(trainer.Loss(a, data) < trainer.Loss(theta, data));
    }

    [Fact]
    public void Fit_FullBatch_TakesOneGradientStepPerEpoch()
    {
        // Two rows (x, y) = (1, 1), (−1, 0); θ = 0: gradient = mean((0 − y)·[x, 1]) = [−0.5, −0.5].
        var data = new TrainingData([1.0, -1.0], [1.0, 0.0], featureCount: 1);

        var theta = Trainers.Get("linear").Fit([0, 0], data, new LocalFitOptions(LearningRate: 0.2, Epochs: 1));

        Assert.Equal([0.1, 0.1], theta);
    }

    [Fact]
    public void Trainers_Get_UnknownName_SaysWhichNamesExist()
    {
        var error = Assert.Throws<ArgumentException>(() => Trainers.Get("Logistic"));

        Assert.StartsWith("unknown trainer 'Logistic' (known: linear, logistic)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Trainers_Builtin_IsAFreshRegistry_SoAddingToOneChangesNoOther()
    {
        var mine = Trainers.Builtin.Add(new RenamedTrainer("mine"));

        Assert.Equal(["linear", "logistic", "mine"], mine.Names);
        Assert.Equal(["linear", "logistic"], Trainers.Builtin.Names);
        Assert.Throws<ArgumentException>(() => mine.Add(new RenamedTrainer("linear")));
        Assert.True(mine.TryGet("mine", out var found));
        Assert.Equal("mine", found.Name);
        Assert.Equal(5, found.ParameterCount(4));
    }

    private sealed class RenamedTrainer(string name) : LinearModelTrainer
    {
        public override string Name => name;

        public override bool BinaryLabels => false;

        protected override double SampleLoss(double z, double label) => Math.Abs(z - label);

        protected override double LossSlope(double z, double label) => Math.Sign(z - label);

        protected override double Output(double z) => z;
    }
}
