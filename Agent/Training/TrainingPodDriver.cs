using System.Globalization;
using Smpc.Agent.Federated;
using Smpc.Agent.Query;
using Smpc.Client;
using Smpc.Client.Federated;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Training;

namespace Smpc.Agent.Training;

/// <summary>
/// A pod's part in federated training: loads its rows once under its policy, contributes the standardisation statistics,
/// then in each round trains locally from the global parameters the modeller released and contributes n·θ, n and n·loss.
/// </summary>
internal sealed class TrainingPodDriver(PodAgentConfig config, TrainerRegistry trainers, string baseDirectory, Action<string> log) : IFederatedPodDriver
{
    /// <summary>The modeller whose signature verified; the allow-list is checked against it.</summary>
    public Smpc.Client.Identity.VerifiedModeller? Modeller { get; init; }

    private TrainingRequest? _request;
    private ILocalTrainer? _trainer;
    private TrainingData? _raw;
    private (double[] Mean, double[] Std, TrainingData Data)? _standardised;

    public async Task<string?> PrepareAsync(SessionResponse session, CancellationToken ct)
    {
        if (session.Federated?.Training is not { } request) return "not a training session";
        var policy = config.Training;
        if (Modeller is not null && !Modeller.IsAllowedBy(policy.Modellers)) return $"modeller {session.ModellerId} ({Modeller.Fingerprint}) may not train on this pod";
        if (policy.Refusal(request, Modeller is null ? session.ModellerId : null) is { } refusal) return refusal;
        if (!trainers.TryGet(request.Trainer, out var trainer)) return $"this agent has no trainer '{request.Trainer}'";
        if (!config.Sources.TryGetValue(request.Source, out var source)) return $"no data source named '{request.Source}'";
        try
        {
            _raw = await TrainingDataLoader.LoadAsync(request, source, policy, baseDirectory, trainers, ct);
        }
        catch (TrainingRefusedException ex)
        {
            return ex.Message;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or System.Data.Common.DbException)
        {
            log($"session {session.Id}: source '{request.Source}' failed: {ex.Message}");
            return $"the pod's source '{request.Source}' cannot be read";
        }

        (_request, _trainer) = (request, trainer);
        log($"session {session.Id}: {_raw.Count} rows of {_raw.FeatureCount} features loaded for {request.Trainer} training");
        return null;
    }

    public async Task<double[]> InputAsync(SessionResponse round, SessionResponse parent, FederatedPodChannel channel, CancellationToken ct)
    {
        var (request, trainer, raw) = (_request!, _trainer!, _raw!);
        var label = round.Aggregation!.Input;
        QueryPodDriver.RequirePods(round, parent.PodIds); // every round over all of the session's pods
        if (label == "standardise")
        {
            QueryPodDriver.RequireFields(round, Standardisation.Fields(request, raw.FeatureCount));
            return Standardisation.Input(raw);
        }

        // Rounds are round-1 … round-R, each answered once and in increasing order: the pod's policy on rounds holds, and
        // the modeller cannot replay a round's parameters under another label.
        if (!label.StartsWith("round-", StringComparison.Ordinal) || !int.TryParse(label["round-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || label != $"round-{number.ToString(CultureInfo.InvariantCulture)}" || number < 1 || number > request.Rounds)
            throw new FederatedRefusalException($"training has no round '{label}' (rounds are round-1 to round-{request.Rounds})");
        var earlier = channel.Rounds().Keys.Where(l => l != label && l.StartsWith("round-", StringComparison.Ordinal))
            .Select(l => int.TryParse(l["round-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0).DefaultIfEmpty(0).Max();
        if (number <= earlier) throw new FederatedRefusalException($"round {number} comes after round {earlier}");
        using var span = SmpcClient.StartSessionActivity("train.round", round);
        span?.SetTag("smpc.round", number);
        var broadcast = await channel.ReadReleaseAsync<TrainingBroadcast>(label, ct);
        if (broadcast.Round != number) throw new FederatedRefusalException($"release '{label}' is for round {broadcast.Round}");
        QueryPodDriver.RequireFields(round, FedAvgRound.Fields(request, trainer.ParameterCount(raw.FeatureCount)));
        try
        {
            if (_standardised is not { } s || !s.Mean.SequenceEqual(broadcast.Mean) || !s.Std.SequenceEqual(broadcast.Std))
                _standardised = s = (broadcast.Mean, broadcast.Std, Standardisation.Apply(raw, broadcast.Mean, broadcast.Std));
            using var fit = SmpcClient.StartSessionActivity("train.local_fit", round); // the fit alone, not the standardisation
            var update = FedAvgRound.PodUpdate(trainer, broadcast.Theta, s.Data, request, number);
            fit?.SetTag("smpc.train.loss", update.Loss);
            fit?.SetTag("smpc.train.samples", raw.Count);
            return update.Input;
        }
        catch (TrainingRefusedException ex)
        {
            throw new FederatedRefusalException(ex.Message);
        }
    }

    public void Dispose()
    {
    }
}
