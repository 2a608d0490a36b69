using Smpc.Contracts;
using Smpc.Protocols.Federated;
using Smpc.Protocols.Federated.Query;

namespace Smpc.Protocols.Tests.Federated;

/// <summary>The rules a federated session's spec meets before the service stores it: a query's round timeout and shape, and the lifetime of either kind.</summary>
public sealed class FederatedSessionSpecTests
{
    private static readonly QueryRequest Query = new(
        "SELECT ward, count(*) AS n FROM admissions GROUP BY ward", "admissions", [new GroupByRequest("ward", Values: ["a", "b"])], [new QueryAggregateRequest("n", "count")]);

    private static readonly TrainingRequest Training = new("linear", "admissions", ["age"], "stay");

    [Fact]
    public void AQuery_ThatFitsTheEncoding_HasNoProblem() => Assert.Null(QueryRequests.SessionProblem(Query));

    [Theory]
    [InlineData(4)]
    [InlineData(86_401)]
    public void AQueryRoundTimeout_OutsideFiveSecondsToADay_IsRefused(int seconds) =>
        Assert.Equal("query.roundTimeoutSeconds must be between 5 and 86400.", QueryRequests.SessionProblem(Query with { RoundTimeoutSeconds = seconds }));

    [Fact]
    public void AQueryShapeProblem_IsNamedForTheRestBody() =>
        Assert.Equal("query: the query declares no aggregates", QueryRequests.SessionProblem(Query with { Aggregates = [] }));

    [Fact]
    public void TheLifetime_IsFourPhasesPerRound_TheChannel_AndTenMinutes()
    {
        Assert.Equal(TimeSpan.FromSeconds((4 * 2 + 1) * 300 + 600), FederatedLifetime.Of(Query));
        Assert.Equal(TimeSpan.FromSeconds((4 * 21 + 1) * 300 + 600), FederatedLifetime.Of(Training)); // 20 rounds and the standardisation round
        Assert.Null(FederatedLifetime.Problem(Query));
        Assert.Null(FederatedLifetime.Problem(Training));
    }

    [Fact]
    public void ASessionThatCouldOutliveSevenDays_IsRefused()
    {
        Assert.Equal("3 rounds of 4 phases at 86400 s each could take longer than the 7 days a session may live; lower roundTimeoutSeconds or the rounds.",
            FederatedLifetime.Problem(Training with { Rounds = 2, RoundTimeoutSeconds = 86_400 }));
        Assert.Equal("2 rounds of 4 phases at 86400 s each could take longer than the 7 days a session may live; lower roundTimeoutSeconds or the rounds.",
            FederatedLifetime.Problem(Query with { RoundTimeoutSeconds = 86_400 }));
    }
}
