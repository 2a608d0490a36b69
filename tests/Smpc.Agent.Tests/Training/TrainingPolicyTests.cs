using System.Text.Json;
using Smpc.Agent.Training;
using Smpc.Contracts;

namespace Smpc.Agent.Tests.Training;

public sealed class TrainingPolicyTests
{
    private static readonly TrainingRequest Request = new("linear", "patients", ["age"], "bmi");

    [Fact]
    public void Policy_FromJson_KeepsDefaultsForWhatItOmits()
    {
        var policy = JsonSerializer.Deserialize<TrainingPolicy>("""{ "modellers": ["m1"], "columns": { "patients": ["age", "bmi"] } }""", JsonSerializerOptions.Web)!;

        Assert.Equal(["m1"], policy.Modellers);
        Assert.Equal(["linear", "logistic"], policy.Trainers);
        Assert.Equal(1000, policy.MaxRounds);
        Assert.Null(policy.Refusal(Request, "m1"));
    }

    [Fact]
    public void Refusal_ModellerNotListed_IsRefused_AndAnEmptyListAllowsEveryModeller()
    {
        var policy = new TrainingPolicy { Modellers = ["m1"], Columns = new() { ["patients"] = ["*"] } };

        Assert.Equal("modeller m2 may not train on this pod", policy.Refusal(Request, "m2"));
        Assert.Null((policy with { Modellers = [] }).Refusal(Request, "m2"));
    }

    [Fact]
    public void Refusal_ByDefault_AllowsNoColumn()
    {
        Assert.Equal("the pod's policy allows no columns of source 'patients' for training", new TrainingPolicy().Refusal(Request, "m1"));
    }
}
