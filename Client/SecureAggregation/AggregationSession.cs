using Smpc.Client.Identity;
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
    /// Party number → identity fingerprint for every pod of the session, each resolved through the party's own
    /// <paramref name="pins"/> (<see cref="PinKinds.Pod"/>): the service's registry only presents a fingerprint, which must
    /// equal the pin; an unpinned pod is pinned on first use (announced) or refused, per the store. <paramref name="self"/>
    /// (a pod's own id and fingerprint) is taken as is: a pod knows its own key.
    /// </summary>
    /// <exception cref="PinMismatchException">A pod presents another identity than its pin, or is unpinned and first use is off.</exception>
    public static async Task<IReadOnlyDictionary<int, string>> PinsAsync(
        SmpcClient client, SessionResponse session, PinStore pins, CancellationToken ct, (string Pod, string Fingerprint)? self = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(pins);
        // Fetched together, resolved in party order: the first-use notices come out in a stable order.
        var presented = await Task.WhenAll(session.PodIds.Select(pod => self?.Pod == pod
            ? Task.FromResult<string?>(self.Value.Fingerprint)
            : PresentedAsync(client, session.Tenant, pod, ct)));
        var result = new Dictionary<int, string>();
        for (var i = 0; i < session.PodIds.Count; i++)
        {
            var pod = session.PodIds[i];
            result[i + 1] = self?.Pod == pod ? self.Value.Fingerprint : pins.Resolve(session.Tenant, PinKinds.Pod, pod, presented[i]);
        }

        return result;
    }

    /// <summary>The identity fingerprint the service's registry presents for a pod (null when it presents none).</summary>
    public static async Task<string?> PresentedAsync(SmpcClient client, string tenant, string pod, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(client);
        return (await client.GetPodAsync(tenant, pod, ct).ConfigureAwait(false)).IdentityFingerprint;
    }

    /// <summary>
    /// The store a party uses when its caller gives none: first use kept in memory for this party only and announced on
    /// stderr (or to <paramref name="notice"/>). The agent and the CLI always pass their persistent store; this is for
    /// embedded use, tests and benchmarks.
    /// </summary>
    public static PinStore EphemeralPins(Action<string>? notice = null) => new(path: null, trustOnFirstUse: true, notice: notice);
}
