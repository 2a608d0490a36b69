using Smpc.Client.Identity;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.Signatures;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Client.SecureAggregation;

/// <summary>
/// The result, computed in the modeller's process: per field, the sum, mean or weighted mean over the included pods (party
/// numbers and pod ids); a weighted mean also carries Σw and its exact decimal means in <see cref="Weighted"/>.
/// </summary>
public sealed record AggregationOutcome(
    SessionResponse Session, IReadOnlyDictionary<string, double[]> Values, IReadOnlyList<int> IncludedParties, AggregateResult Raw,
    IReadOnlyList<string> IncludedPods, WeightedMeanResult? Weighted = null)
{
    /// <summary>The pods the result leaves out, and why.</summary>
    public IReadOnlyList<LeftOutPod> LeftOut => LeftOutPod.Of(Session);

    /// <summary>Σw over the included pods (weighted means only).</summary>
    public decimal? WeightSum => Weighted?.WeightSum;
}

/// <summary>
/// The modeller's side of secure aggregation: creates the session with a fresh X25519 session key, waits for the
/// survivors' unmask responses, then reconstructs the masks and computes the aggregate locally. The session's private key
/// and the result never leave this process; the service is told only which parties were included.
/// </summary>
public sealed class ModellerAggregation : IDisposable
{
    private readonly SmpcClient _client;
    private readonly X25519KeyPair _sessionKey;
    private readonly PinStore _pins;
    private readonly CreateSessionRequest _request;
    private readonly byte[] _statement;
    private readonly SessionParameters _parameters;

    private ModellerAggregation(SmpcClient client, SessionResponse session, X25519KeyPair sessionKey, PinStore pins, string tenant, CreateSessionRequest request)
    {
        _client = client;
        Session = session;
        _sessionKey = sessionKey;
        _pins = pins;
        _request = request;
        // The modeller's parameters come from its own request, never from the service's echo of it.
        _statement = ModellerStatements.Session(tenant, request);
        _parameters = ModellerStatements.AggregationParameters(tenant, request);
    }

    /// <summary>The session as created.</summary>
    public SessionResponse Session { get; }


    /// <summary>
    /// Creates the session (a round of federated session <paramref name="parent"/> if given); <paramref name="aggregation"/>'s
    /// modeller key is replaced by a fresh session key. Pods' identities are held to <paramref name="pins"/> (null: first
    /// use in memory for this session only, see <see cref="AggregationSession.EphemeralPins"/>).
    /// </summary>
    public static async Task<ModellerAggregation> CreateAsync(
        SmpcClient client, string tenant, string sessionId, string modellerId, IReadOnlyList<string> pods, AggregationRequest aggregation,
        IRandomSource? random = null, PinStore? pins = null, CancellationToken ct = default, string? parent = null)
    {
        var key = X25519KeyPair.Generate(random ?? SystemRandomSource.Instance);
        try
        {
            var request = new CreateSessionRequest(sessionId, modellerId, SessionKinds.SecureAggregation, pods,
                aggregation with { ModellerPublicKey = Convert.ToBase64String(key.PublicKey) }, Parent: parent);
            var session = await client.CreateSessionAsync(tenant, request, ct);
            return new ModellerAggregation(client, session, key, pins ?? AggregationSession.EphemeralPins(), tenant, request);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Waits until the survivors have answered (all of them, or at least t once the deadline passed), unmasks, reports completion.</summary>
    public async Task<AggregationOutcome> WaitForResultAsync(CancellationToken ct = default)
    {
        var session = await WaitForResponsesAsync(ct);
        SmpcClient.RequireSame(_statement, session);
        var parameters = _parameters;
        AggregateResult result;
        using (var span = SmpcClient.StartSessionActivity("secagg.unmask", session))
        {
            span?.SetTag("smpc.session", session.Id);
            var material = await _client.GetUnmaskMaterialAsync(session.Tenant, session.Id, ct);
            var sum = await _client.GetMaskedSumAsync(session.Tenant, session.Id, ct);
            var pins = await AggregationSession.PinsAsync(_client, session, _pins, ct);
            using var unmasker = new SecureAggregationUnmasker(parameters, _sessionKey, pins);
            unmasker.AcceptKeyBundles([.. material.KeyBundles.Select(b => KeyBundle.Parse(Convert.FromBase64String(b)))]);
            unmasker.AcceptUnmaskRequest(UnmaskRequest.Parse(Convert.FromBase64String(material.UnmaskRequest)));
            foreach (var response in material.Responses) unmasker.AcceptResponse(UnmaskResponse.Parse(Convert.FromBase64String(response)));
            result = unmasker.Finish(sum);
        }

        using (var span = SmpcClient.StartSessionActivity("secagg.result", session))
        {
            span?.SetTag("smpc.session", session.Id);
            span?.SetTag("smpc.included", result.IncludedParties.Count);
            var a = _request.Aggregation!;
            var weighted = (a.Weight is { } w
                ? new WeightedMeanLayout(a.Fields.Select(f => new FieldSpec(f.Name, f.Length, f.Precision ?? FieldSpec.DefaultPrecision, f.Min, f.Max)), new WeightSpec(w.Min, w.Max, w.Precision ?? 1), _request.PodIds.Count)
                : null)?.Decode(result);
            var values = a.Fields.ToDictionary(
                f => f.Name,
                f => weighted is not null ? weighted.Mean(f.Name) : a.Operation == "mean" ? result.Mean(f.Name) : result.Sum(f.Name));
            if (weighted is not null) span?.SetTag("smpc.weighted", true);
            var completed = await _client.CompleteAggregationAsync(session.Tenant, session.Id, result.IncludedParties, ct);
            var pods = result.IncludedParties.Select(p => session.PodIds[p - 1]).ToList();
            return new AggregationOutcome(completed, values, result.IncludedParties, result, pods, weighted);
        }
    }

    private async Task<SessionResponse> WaitForResponsesAsync(CancellationToken ct)
    {
        var session = await _client.GetSessionAsync(Session.Tenant, Session.Id, ct);
        while (true)
        {
            var a = session.Aggregation!;
            if (session.Phase == SessionPhases.Failed) throw new SecureAggregationFailedException(session, a.FailureReason ?? "the session failed");
            if (session.CancelledText() is { } cancelled) throw new SecureAggregationFailedException(session, $"the session was {cancelled}");
            var enough = a.UnmaskResponses.Count >= a.Threshold && (a.UnmaskResponses.Count == a.MaskedInputs.Count || a.PhaseDeadline is null);
            if (session.Phase is SessionPhases.Unmasking or SessionPhases.Completed && enough) return session;
            session = await _client.WaitForSessionChangeAsync(Session.Tenant, Session.Id, session.Version, 20, ct);
        }
    }

    public void Dispose() => _sessionKey.Dispose();
}

/// <summary>The session ended without a result; <see cref="Exception.Message"/> says why (e.g. too few pods before a deadline).</summary>
public sealed class SecureAggregationFailedException(SessionResponse session, string reason) : Exception(reason)
{
    public SessionResponse Session { get; } = session;

    /// <summary>The pods that did not take part to the end, and why.</summary>
    public IReadOnlyList<LeftOutPod> LeftOut => LeftOutPod.Of(Session);
}
