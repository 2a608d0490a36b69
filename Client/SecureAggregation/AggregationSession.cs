using Smpc.Contracts;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Client.SecureAggregation;

/// <summary>Derives the protocol parameters of a session from its REST resource, identically on every pod and the modeller.</summary>
public static class AggregationSession
{
    /// <summary>The session's <see cref="SessionParameters"/>.</summary>
    public static SessionParameters Parameters(SessionResponse session)
    {
        var a = session.Aggregation ?? throw new InvalidOperationException($"Session {session.Id} is not a secure-aggregation session.");
        var layout = WeightedLayout(session)?.WireLayout ?? new VectorLayout(Fields(a));
        return SessionParameters.Create(a.ProtocolSessionId, session.PodIds.Count, layout, Convert.FromBase64String(a.ModellerPublicKey), a.Threshold);
    }

    /// <summary>A weighted-mean session's layout (x fields, the weight, and the w·x wire vector), or null for sum and mean.</summary>
    public static WeightedMeanLayout? WeightedLayout(SessionResponse session)
    {
        var a = session.Aggregation ?? throw new InvalidOperationException($"Session {session.Id} is not a secure-aggregation session.");
        return a.Weight is { } w ? new WeightedMeanLayout(Fields(a), new WeightSpec(w.Min, w.Max, w.Precision ?? 1), session.PodIds.Count) : null;
    }

    private static IEnumerable<FieldSpec> Fields(AggregationStatusResponse a) =>
        a.Fields.Select(f => new FieldSpec(f.Name, f.Length, f.Precision ?? FieldSpec.DefaultPrecision, f.Min, f.Max));

    /// <summary>
    /// Party number → identity fingerprint for every pod of the session. Configured pins win; the others are read from the
    /// tenant's registry (trust on first use), which protects against key substitution in transit but not against a
    /// service that lies in its registry: pin fingerprints in the agent configuration for that.
    /// </summary>
    public static async Task<IReadOnlyDictionary<int, string>> PinsAsync(
        SmpcClient client, SessionResponse session, IReadOnlyDictionary<string, string>? configuredPins, CancellationToken ct)
    {
        var fingerprints = await Task.WhenAll(session.PodIds.Select(async pod =>
            configuredPins?.GetValueOrDefault(pod)
            ?? (await client.GetPodAsync(session.Tenant, pod, ct)).IdentityFingerprint
            ?? throw new InvalidOperationException($"Pod {pod} has no identity key.")));
        return fingerprints.Select((f, i) => (Party: i + 1, f)).ToDictionary(p => p.Party, p => p.f);
    }
}
