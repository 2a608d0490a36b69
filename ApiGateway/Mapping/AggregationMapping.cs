using Smpc.Contracts;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.ApiGateway.Mapping;

/// <summary>Between the REST secure-aggregation shapes (spec, status) and the grains'.</summary>
internal static class AggregationMapping
{
    private static readonly Dictionary<string, AggregationOperation> Operations = new(StringComparer.Ordinal)
    {
        ["sum"] = AggregationOperation.Sum,
        ["mean"] = AggregationOperation.Mean,
        ["weighted-mean"] = AggregationOperation.WeightedMean,
    };

    public static AggregationSpec ToSpec(AggregationRequest? request)
    {
        if (request is null) throw SmpcException.Invalid("A secure-aggregation session needs 'aggregation' (fields, operation, modellerPublicKey, input).");
        if (request.Fields is not { Count: > 0 }) throw SmpcException.Invalid("aggregation.fields must name at least one field.");
        if (!Operations.TryGetValue(request.Operation ?? "", out var operation)) throw SmpcException.Invalid("aggregation.operation must be sum, mean or weighted-mean.");
        byte[] modellerKey;
        try
        {
            modellerKey = Convert.FromBase64String(request.ModellerPublicKey ?? "");
        }
        catch (FormatException)
        {
            throw SmpcException.Invalid("aggregation.modellerPublicKey must be base64.");
        }

        Dictionary<SessionPhase, TimeSpan>? perPhase = null;
        if (request.PhaseTimeouts is { Count: > 0 } timeouts)
        {
            perPhase = [];
            foreach (var (name, seconds) in timeouts)
            {
                var phase = PhaseByName.GetValueOrDefault(name);
                if (phase is not (SessionPhase.KeyExchange or SessionPhase.ShareExchange or SessionPhase.MaskedInput or SessionPhase.Unmasking))
                    throw SmpcException.Invalid($"phaseTimeouts: '{name}' is not key-exchange, share-exchange, masked-input or unmasking.");
                perPhase[phase] = TimeSpan.FromSeconds(seconds);
            }
        }

        return new AggregationSpec(
            [.. request.Fields.Select(f => new AggregationField(f.Name ?? "", f.Length, f.Precision ?? 10_000_000_000, f.Min, f.Max, f.Shape))],
            operation, request.Threshold, modellerKey, TimeSpan.FromSeconds(request.PhaseTimeoutSeconds), request.Input ?? "", request.WeightField, perPhase,
            request.Weight is { } w ? new AggregationWeight(w.Min, w.Max, w.Precision ?? 1) : null);
    }

    private static readonly Dictionary<string, SessionPhase> PhaseByName = Enum.GetValues<SessionPhase>().ToDictionary(SessionMapping.PhaseName, p => p);

    public static AggregationStatusResponse ToResponse(AggregationStatus a, IReadOnlyList<string> pods) => new(
        a.ProtocolSessionId, a.Threshold,
        [.. a.Spec.Fields.Select(f => new AggregationFieldRequest(f.Name, f.Length, f.Min, f.Max, f.Precision, f.Shape))],
        Operations.Single(o => o.Value == a.Spec.Operation).Key, a.Spec.Input, a.Spec.Weight is { } w ? new AggregationWeightRequest(w.Min, w.Max, w.Precision) : null, Convert.ToBase64String(a.Spec.ModellerPublicKey),
        a.Spec.PhaseTimeouts?.ToDictionary(p => SessionMapping.PhaseName(p.Key), p => (int)p.Value.TotalSeconds), a.PhaseDeadline, a.KeyBundles, a.ShareSenders, a.MaskedInputs, a.UnmaskResponses, a.Dropped, a.Included, a.FailureReason,
        [.. pods.Select((pod, i) => PodStatus(a, pod, i + 1))]);

    /// <summary>A survivor that declined in the unmasking step is still included (its masked vector is in the sum), with its category.</summary>
    private static AggregationPodResponse PodStatus(AggregationStatus a, string pod, int party)
    {
        var category = a.Declined?.GetValueOrDefault(party);
        return a.Included?.Contains(party) == true ? new(pod, party, PodStatuses.Included, category)
            : category is not null ? new(pod, party, PodStatuses.Declined, category)
            : a.Dropped.Contains(party) ? new(pod, party, PodStatuses.Dropped)
            : new(pod, party, PodStatuses.Active);
    }
}
