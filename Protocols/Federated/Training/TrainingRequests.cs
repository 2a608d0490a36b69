using Smpc.Contracts;

namespace Smpc.Protocols.Federated.Training;

/// <summary>Sanity rules every <see cref="TrainingRequest"/> must meet, checked identically by the modeller (up front) and the pods.</summary>
public static class TrainingRequests
{
    /// <summary>Why <paramref name="request"/> is not a well-formed training request, or null when it is.</summary>
    public static string? Problem(TrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Trainer)) return "the request names no trainer";
        if (string.IsNullOrWhiteSpace(request.Source)) return "the request names no source";
        if (request.Features is not { Count: > 0 }) return "the request names no feature columns";
        if (request.Features.Any(string.IsNullOrWhiteSpace)) return "a feature column name is empty";
        if (string.IsNullOrWhiteSpace(request.Label)) return "the request names no label column";
        var names = request.Features.Append(request.Label).ToList();
        if (names.Distinct(StringComparer.OrdinalIgnoreCase).Count() != names.Count)
        {
            return "the feature and label columns must be distinct (ignoring case)";
        }

        if (request.Rounds < 1) return "Rounds must be at least 1";
        if (!(request.LearningRate > 0) || !double.IsFinite(request.LearningRate)) return "LearningRate must be a positive number";
        if (request.LocalEpochs < 1) return "LocalEpochs must be at least 1";
        if (request.BatchSize < 0) return "BatchSize must be 0 (full batch) or positive";
        if (!(request.Tolerance >= 0) || !double.IsFinite(request.Tolerance)) return "Tolerance must be zero or a positive number";
        if (!(request.ParameterBound > 0) || !double.IsFinite(request.ParameterBound)) return "ParameterBound must be a positive number";
        if (!(request.FeatureBound > 0) || !double.IsFinite(request.FeatureBound)) return "FeatureBound must be a positive number";
        if (request.MaxSamplesPerPod < 1) return "MaxSamplesPerPod must be at least 1";
        return null;
    }

    /// <summary>
    /// Why the service refuses <paramref name="request"/> as a training session's spec, or null: the schedule's limits and
    /// bounds that fit the secure-aggregation encoding. Messages name the REST body's fields (<c>training.rounds</c>, ...).
    /// </summary>
    public static string? SessionProblem(TrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Trainer) || request.Trainer.Length > 64) return "training.trainer names a trainer (e.g. linear, logistic).";
        if (request.Features is not { Count: > 0 and <= 10_000 } || request.Features.Any(string.IsNullOrWhiteSpace) || request.Features.Distinct().Count() != request.Features.Count)
            return "training.features names 1 to 10000 distinct columns.";
        if (string.IsNullOrWhiteSpace(request.Label) || request.Features.Contains(request.Label)) return "training.label names a column that is not a feature.";
        if (request.Rounds is < 1 or > 1000) return "training.rounds must be between 1 and 1000.";
        if (request.LocalEpochs is < 1 or > 10_000) return "training.localEpochs must be between 1 and 10000.";
        if (request.BatchSize < 0) return "training.batchSize must be 0 (full batch) or positive.";
        if (!double.IsFinite(request.LearningRate) || request.LearningRate <= 0) return "training.learningRate must be positive.";
        if (!double.IsFinite(request.Tolerance) || request.Tolerance < 0) return "training.tolerance must be 0 or positive.";
        if (request.RoundTimeoutSeconds is < 5 or > 86_400) return "training.roundTimeoutSeconds must be between 5 and 86400.";
        try
        {
            // An unknown trainer is the pods' refusal to make (they may have their own); size as a linear model meanwhile.
            _ = Standardisation.Fields(request, request.Features.Count);
            _ = FedAvgRound.Fields(request, Trainers.Registry.TryGet(request.Trainer, out var trainer) ? trainer.ParameterCount(request.Features.Count) : request.Features.Count + 1);
        }
        catch (ArgumentException ex)
        {
            return $"training: {ex.Message}";
        }

        return null;
    }

    /// <summary>Throws unless <paramref name="request"/> is well formed.</summary>
    /// <exception cref="ArgumentException">The request is malformed; the message says how.</exception>
    public static void Validate(TrainingRequest request)
    {
        if (Problem(request) is { } problem) throw new ArgumentException($"Training request: {problem}.", nameof(request));
    }
}
