using Smpc.Contracts;

namespace Smpc.Protocols.Federated;

/// <summary>
/// How long a federated session may live, a safety net for abandoned sessions: every round's four phase deadlines
/// (roundTimeoutSeconds each), the channel's opening, plus ten minutes. A session that could not finish within
/// <see cref="Max"/> is refused rather than cut short.
/// </summary>
public static class FederatedLifetime
{
    /// <summary>Longest any federated session may live.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromDays(7);

    /// <summary>Rounds of a query session: the count round and the value round.</summary>
    public const int QueryRounds = 2;

    /// <summary>The lifetime of a query session under <paramref name="query"/>.</summary>
    public static TimeSpan Of(QueryRequest query)
    {
        ArgumentNullException.ThrowIfNull(query);
        return Of(QueryRounds, query.RoundTimeoutSeconds);
    }

    /// <summary>The lifetime of a training session under <paramref name="training"/> (its rounds plus the standardisation round).</summary>
    public static TimeSpan Of(TrainingRequest training)
    {
        ArgumentNullException.ThrowIfNull(training);
        return Of(training.Rounds + 1, training.RoundTimeoutSeconds);
    }

    /// <summary>Why a query session under <paramref name="query"/> could not live long enough, or null.</summary>
    public static string? Problem(QueryRequest query)
    {
        ArgumentNullException.ThrowIfNull(query);
        return Problem(QueryRounds, query.RoundTimeoutSeconds);
    }

    /// <summary>Why a training session under <paramref name="training"/> could not live long enough, or null.</summary>
    public static string? Problem(TrainingRequest training)
    {
        ArgumentNullException.ThrowIfNull(training);
        return Problem(training.Rounds + 1, training.RoundTimeoutSeconds);
    }

    private static TimeSpan Of(int rounds, int roundTimeoutSeconds) => TimeSpan.FromSeconds(Seconds(rounds, roundTimeoutSeconds));

    private static string? Problem(int rounds, int roundTimeoutSeconds) => Seconds(rounds, roundTimeoutSeconds) > Max.TotalSeconds
        ? $"{rounds} rounds of 4 phases at {roundTimeoutSeconds} s each could take longer than the 7 days a session may live; lower roundTimeoutSeconds or the rounds."
        : null;

    private static double Seconds(int rounds, int roundTimeoutSeconds) => (4.0 * rounds + 1) * roundTimeoutSeconds + 600;
}
