using Smpc.Contracts;
using Smpc.Protocols.Federated.Training;

namespace Smpc.Agent.Training;

/// <summary>
/// What a pod agrees to in federated training, enforced by its agent before it reads any data. Column names match
/// ignoring case, like the record sources' column lookup; source names match exactly.
/// </summary>
public sealed record TrainingPolicy
{
    /// <summary>Modellers allowed to train on this pod (empty: every modeller of the tenant).</summary>
    public List<string> Modellers { get; init; } = [];

    /// <summary>Trainers the pod runs (names as in the trainer registry).</summary>
    public List<string> Trainers { get; init; } = ["linear", "logistic"];

    /// <summary>Source name → the columns a request may use as features or label; "*" allows every column. A source without an entry, or with an empty list, allows none.</summary>
    public Dictionary<string, List<string>> Columns { get; init; } = [];

    /// <summary>Most rounds one training session may ask for (each round releases one more sum of the pod's update).</summary>
    public int MaxRounds { get; init; } = 1000;

    /// <summary>Why this policy refuses <paramref name="request"/> (from <paramref name="modellerId"/>, when known), or null when it allows it.</summary>
    public string? Refusal(TrainingRequest request, string? modellerId = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (modellerId is not null && Modellers.Count > 0 && !Modellers.Contains(modellerId))
        {
            return $"modeller {modellerId} may not train on this pod";
        }

        if (!Trainers.Contains(request.Trainer))
        {
            return $"trainer '{request.Trainer}' is not allowed (allowed: {string.Join(", ", Trainers)})";
        }

        if (request.Rounds > MaxRounds)
        {
            return $"{request.Rounds} rounds exceed the pod's maximum of {MaxRounds}";
        }

        if (!Columns.TryGetValue(request.Source, out var allowed) || allowed is not { Count: > 0 })
        {
            return $"the pod's policy allows no columns of source '{request.Source}' for training";
        }

        if (allowed.Contains("*")) return null;

        // The refusal names the refused columns only: listing the allowed ones would describe the pod's schema.
        var refused = request.Features.Append(request.Label)
            .Where(c => !allowed.Contains(c, StringComparer.OrdinalIgnoreCase))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        return refused.Count == 0
            ? null
            : $"the pod's policy does not allow training on column{(refused.Count == 1 ? "" : "s")} {string.Join(", ", refused.Select(c => $"'{c}'"))} of source '{request.Source}'";
    }
}
