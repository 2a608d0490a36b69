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

    /// <summary>Throws unless <paramref name="request"/> is well formed.</summary>
    /// <exception cref="ArgumentException">The request is malformed; the message says how.</exception>
    public static void Validate(TrainingRequest request)
    {
        if (Problem(request) is { } problem) throw new ArgumentException($"Training request: {problem}.", nameof(request));
    }
}
