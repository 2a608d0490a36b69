using Smpc.Client.Identity;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Training;

namespace Smpc.Client.Federated;

/// <summary>One finished training round as the modeller saw it.</summary>
public sealed record TrainingRoundOutcome(int Round, double Loss, long Samples, int Pods, double UpdateNorm, TimeSpan Duration);

/// <summary>What federated training produced, in the modeller's process: the model and the standardisation it expects.</summary>
public sealed record FederatedTrainingOutcome(SessionResponse Session, double[] Theta, StandardisationStats Standardisation, IReadOnlyList<TrainingRoundOutcome> Rounds, bool Converged);

/// <summary>
/// Runs FedAvg for the modeller (DESIGN.md §3.3): a standardisation round, then rounds of (release θ_r → pods train locally →
/// secure aggregation of n·θ, n, n·loss → θ_{r+1} = Σ n·θ / Σ n) until the round limit or convergence.
/// </summary>
public static class FederatedTrainingRun
{
    /// <summary>Runs training end to end; <paramref name="progress"/> hears each finished round.</summary>
    public static async Task<FederatedTrainingOutcome> RunAsync(
        SmpcClient client, string tenant, string sessionId, string modellerId, IReadOnlyList<string> pods, TrainingRequest request,
        PinStore? pins = null, Action<TrainingRoundOutcome>? progress = null, Action<string>? log = null,
        TrainerRegistry? trainers = null, CancellationToken ct = default)
    {
        if (!(trainers ?? Trainers.Builtin).TryGet(request.Trainer, out var trainer)) throw new ArgumentException($"Unknown trainer '{request.Trainer}'.", nameof(request));
        var features = request.Features.Count;
        var parameters = trainer.ParameterCount(features);
        using var modeller = await FederatedModeller.CreateAsync(client, tenant, new CreateSessionRequest(sessionId, modellerId, SessionKinds.Training, pods, Training: request), pins, ct: ct);
        try
        {
            log?.Invoke($"waiting for {pods.Count} pods to load their data and join");
            await modeller.OpenChannelAsync(TimeSpan.FromSeconds(request.RoundTimeoutSeconds), ct);
            var standardise = await modeller.RunRoundAsync("standardise", pods, Standardisation.Fields(request, features), request.RoundTimeoutSeconds, ct);
            var stats = Standardisation.FromSums(standardise.Values);
            log?.Invoke($"standardisation over {stats.Samples} rows from {standardise.IncludedParties.Count} pods");

            var theta = new double[parameters];
            var rounds = new List<TrainingRoundOutcome>();
            var converged = false;
            for (var r = 1; r <= request.Rounds && !converged; r++)
            {
                var started = DateTimeOffset.UtcNow;
                var label = $"round-{r}";
                await modeller.ReleaseAsync(label, new TrainingBroadcast(r, theta, stats.Mean, stats.Std), ct);
                var result = await modeller.RunRoundAsync(label, pods, FedAvgRound.Fields(request, parameters), request.RoundTimeoutSeconds, ct);
                var average = FedAvgRound.Average(result.Values);
                var norm = Math.Sqrt(average.Theta.Zip(theta).Sum(p => (p.First - p.Second) * (p.First - p.Second)));
                converged = FedAvgRound.Converged(theta, average.Theta, request.Tolerance);
                theta = average.Theta;
                var outcome = new TrainingRoundOutcome(r, average.MeanLoss, average.Samples, result.IncludedParties.Count, norm, DateTimeOffset.UtcNow - started);
                rounds.Add(outcome);
                // Only what the issue asks to show (the pooled loss) plus what the service knows anyway; never the model.
                await modeller.ReportAsync(label, new Dictionary<string, double>
                {
                    ["loss"] = average.MeanLoss, ["pods"] = result.IncludedParties.Count, ["seconds"] = Math.Round(outcome.Duration.TotalSeconds, 3),
                }, ct);
                progress?.Invoke(outcome);
            }

            var session = await modeller.FinishAsync(ct: ct);
            return new FederatedTrainingOutcome(session, theta, stats, rounds, converged);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await FederatedQueryRun.TryFailAsync(modeller, ex.Message);
            throw;
        }
    }
}
