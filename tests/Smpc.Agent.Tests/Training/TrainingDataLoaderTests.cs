using Microsoft.Data.Sqlite;
using Smpc.Agent.DataSources;
using Smpc.Agent.Training;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Training;

namespace Smpc.Agent.Tests.Training;

public sealed class TrainingDataLoaderTests : IDisposable
{
    private const string Header = "id,age,bmi,outcome,score,secret\n";

    private static readonly TrainingPolicy Policy = new() { Columns = new() { ["patients"] = ["age", "bmi", "outcome", "score"] } };

    private readonly string _directory = Directory.CreateTempSubdirectory("smpc-training-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Load_ReadsTheRequestedColumnsInRequestOrder_MatchingNamesIgnoringCase()
    {
        var data = await LoadAsync("id,BMI,Age,Outcome,secret\n1,22.5,40,1,not a number\n2, 30 ,-3.5e1,0,x\n", Request(features: ["age", "bmi"]));

        Assert.Equal(2, data.FeatureCount);
        Assert.Equal([40, 22.5, -35, 30], data.Features.ToArray());
        Assert.Equal([1.0, 0.0], data.Labels.ToArray());
    }

    [Fact]
    public async Task Load_BinaryLabels_AcceptTrueAndFalse()
    {
        var data = await LoadAsync(Header + "1,40,22,true,0,x\n2,41,23,False,0,x\n3,42,24,1.0,0,x\n", Request());

        Assert.Equal([1.0, 0.0, 1.0], data.Labels.ToArray());
    }

    [Fact]
    public async Task Load_PolicyAllowingEveryColumn_Loads()
    {
        var policy = new TrainingPolicy { Columns = new() { ["patients"] = ["*"] } };

        var data = await LoadAsync(Header + "1,40,22,1,0,x\n", Request(label: "id", trainer: "linear"), policy);

        Assert.Equal([1.0], data.Labels.ToArray());
    }

    public static TheoryData<TrainingPolicy, string> PolicyRefusals => new()
    {
        { new() { Columns = new() { ["patients"] = ["AGE", "outcome"] } }, "the pod's policy does not allow training on column 'bmi' of source 'patients'" },
        { new() { Columns = new() { ["patients"] = ["age"] } }, "the pod's policy does not allow training on columns 'bmi', 'outcome' of source 'patients'" },
        { new() { Columns = new() { ["other"] = ["*"] } }, "the pod's policy allows no columns of source 'patients' for training" },
        { new() { Columns = new() { ["patients"] = [] } }, "the pod's policy allows no columns of source 'patients' for training" },
        { new() { Columns = [] }, "the pod's policy allows no columns of source 'patients' for training" },
        { Policy with { Trainers = ["linear"] }, "trainer 'logistic' is not allowed (allowed: linear)" },
        { Policy with { MaxRounds = 10 }, "20 rounds exceed the pod's maximum of 10" },
    };

    [Theory]
    [MemberData(nameof(PolicyRefusals))]
    public async Task Load_RequestThePolicyRefuses_IsRefusedBeforeTheSourceIsOpened(TrainingPolicy policy, string expected)
    {
        // No file exists: a policy refusal must come before any read.
        var error = await Assert.ThrowsAsync<TrainingRefusedException>(() =>
            TrainingDataLoader.LoadAsync(Request(), new RecordSourceConfig { Path = "absent.csv" }, policy, _directory));

        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public async Task Load_UnknownTrainerThePolicyAllows_IsRefusedNamingTheKnownOnes()
    {
        var policy = Policy with { Trainers = ["poisson"] };

        var message = await RefusalAsync(Header + "1,40,22,1,0,x\n", Request(trainer: "poisson"), policy);

        Assert.Equal("unknown trainer 'poisson' (known: linear, logistic)", message);
    }

    [Fact]
    public async Task Load_MissingColumn_IsRefusedWithoutListingTheSourcesColumns()
    {
        var message = await RefusalAsync("id,age,outcome,secret\n1,40,1,x\n", Request());

        Assert.Equal("source 'patients' has no column 'bmi'", message);
    }

    [Theory]
    [InlineData("abc", "row 2, column 'bmi': the value is not a number")]
    [InlineData("1,5", "row 2, column 'bmi': the value is not a number")]
    [InlineData("", "row 2, column 'bmi': the value is empty")]
    [InlineData("NaN", "row 2, column 'bmi': the value is not a finite number")]
    [InlineData("-Infinity", "row 2, column 'bmi': the value is not a finite number")]
    [InlineData("1e400", "row 2, column 'bmi': the value is not a finite number")]
    public async Task Load_BadNumber_IsRefusedNamingRowAndColumnButNotTheValue(string cell, string expected)
    {
        var message = await RefusalAsync(Header + $"1,40,22,1,0,x\n2,41,\"{cell}\",0,0,x\n", Request());

        Assert.Equal(expected, message);
    }

    [Fact]
    public async Task Load_NullValue_IsRefusedNamingRowAndColumn()
    {
        var path = Path.Combine(_directory, "p.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE patients (age REAL, bmi REAL, outcome INTEGER); INSERT INTO patients VALUES (40, 22, 1), (41, NULL, 0);";
            command.ExecuteNonQuery();
        }

        var error = await Assert.ThrowsAsync<TrainingRefusedException>(() => TrainingDataLoader.LoadAsync(
            Request(), new RecordSourceConfig { Kind = "sqlite", Path = "p.db", Table = "patients" }, Policy, _directory));

        Assert.Equal("row 2, column 'bmi': the value is NULL", error.Message);
    }

    [Theory]
    [InlineData("1,1000.5,22,1,0,x\n", "linear", "row 1, column 'age': the value is outside ±FeatureBound = 1000")]
    [InlineData("1,-1000,-1000.01,1,0,x\n", "linear", "row 1, column 'bmi': the value is outside ±FeatureBound = 1000")]
    [InlineData("1,40,22,1,-2000,x\n", "linear", "row 1, column 'score': the value is outside ±FeatureBound = 1000")]
    public async Task Load_ValueBeyondFeatureBound_IsRefused(string row, string trainer, string expected)
    {
        var message = await RefusalAsync(Header + row, Request(trainer: trainer, label: "score"));

        Assert.Equal(expected, message);
    }

    [Fact]
    public async Task Load_ValuesAtFeatureBound_AreAccepted()
    {
        var data = await LoadAsync(Header + "1,1000,-1000,1,-1000,x\n", Request(trainer: "linear", label: "score"));

        Assert.Equal([1000.0, -1000.0], data.Features.ToArray());
        Assert.Equal([-1000.0], data.Labels.ToArray());
    }

    [Theory]
    [InlineData("2")]
    [InlineData("0.5")]
    [InlineData("-1")]
    [InlineData("yes")]
    public async Task Load_LogisticLabelOtherThanZeroOrOne_IsRefused(string label)
    {
        var message = await RefusalAsync(Header + $"1,40,22,0,0,x\n2,40,22,{label},0,x\n", Request());

        Assert.Equal(label == "yes" ? "row 2, column 'outcome': the value is not a number" : "row 2, column 'outcome': trainer 'logistic' needs labels 0 or 1 (or true/false)", message);
    }

    [Fact]
    public async Task Load_MoreRowsThanMaxSamplesPerPod_IsRefused()
    {
        var message = await RefusalAsync(Header + "1,40,22,0,0,x\n2,40,22,1,0,x\n3,40,22,1,0,x\n", Request() with { MaxSamplesPerPod = 2 });

        Assert.Equal("source 'patients' has more than MaxSamplesPerPod = 2 rows", message);
    }

    [Fact]
    public async Task Load_NoRows_IsRefused()
    {
        var message = await RefusalAsync(Header, Request());

        Assert.Equal("source 'patients' has no rows", message);
    }

    [Fact]
    public async Task Load_MalformedRequest_IsRefused()
    {
        var message = await RefusalAsync(Header + "1,40,22,0,0,x\n", Request(features: ["age", "outcome"]));

        Assert.Equal("the feature and label columns must be distinct (ignoring case)", message);
    }

    [Fact]
    public async Task Load_WithARegistryHoldingAPlugInTrainer_UsesItsLabelRule()
    {
        var registry = Trainers.Builtin.Add(new BinaryLinearTrainer());
        var policy = Policy with { Trainers = ["binary-linear"] };
        await File.WriteAllTextAsync(Path.Combine(_directory, "p.csv"), Header + "1,40,22,true,0,x\n");

        var data = await TrainingDataLoader.LoadAsync(Request(trainer: "binary-linear"), new RecordSourceConfig { Path = "p.csv" }, policy, _directory, registry);

        Assert.Equal([1.0], data.Labels.ToArray());
    }

    private static TrainingRequest Request(string trainer = "logistic", string label = "outcome", string[]? features = null) =>
        new(trainer, "patients", features ?? ["age", "bmi"], label);

    private async Task<TrainingData> LoadAsync(string csv, TrainingRequest request, TrainingPolicy? policy = null)
    {
        await File.WriteAllTextAsync(Path.Combine(_directory, "p.csv"), csv);
        return await TrainingDataLoader.LoadAsync(request, new RecordSourceConfig { Path = "p.csv" }, policy ?? Policy, _directory);
    }

    private async Task<string> RefusalAsync(string csv, TrainingRequest request, TrainingPolicy? policy = null) =>
        (await Assert.ThrowsAsync<TrainingRefusedException>(() => LoadAsync(csv, request, policy))).Message;

    /// <summary>A plug-in: least squares on 0/1 labels.</summary>
    private sealed class BinaryLinearTrainer : LinearModelTrainer
    {
        public override string Name => "binary-linear";

        public override bool BinaryLabels => true;

        protected override double SampleLoss(double z, double label) => 0.5 * (z - label) * (z - label);

        protected override double LossSlope(double z, double label) => z - label;

        protected override double Output(double z) => z;
    }
}
