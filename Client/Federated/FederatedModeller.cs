using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Protocols.Federated;
using Smpc.Protocols.Randomness;

namespace Smpc.Client.Federated;

/// <summary>
/// The modeller's side of a federated (query or training) session: creates it, checks every pod's member key against its
/// pinned identity, seals a fresh content key to them, sends releases between rounds, and runs each round as a
/// secure-aggregation session whose result is computed here. The content key and every result stay in this process.
/// </summary>
public sealed class FederatedModeller : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly SmpcClient _client;
    private readonly byte[] _contentKey;
    private readonly IReadOnlyDictionary<string, string>? _pins;
    private readonly IRandomSource _random;

    private FederatedModeller(SmpcClient client, SessionResponse session, IReadOnlyDictionary<string, string>? pins, IRandomSource random)
    {
        _client = client;
        Session = session;
        _pins = pins;
        _random = random;
        _contentKey = FederatedChannel.NewContentKey(random);
    }

    /// <summary>The parent session, as last read.</summary>
    public SessionResponse Session { get; private set; }

    /// <summary>Creates the parent session (kind query or training, per <paramref name="request"/>).</summary>
    public static async Task<FederatedModeller> CreateAsync(
        SmpcClient client, string tenant, CreateSessionRequest request, IReadOnlyDictionary<string, string>? pinnedFingerprints = null,
        IRandomSource? random = null, CancellationToken ct = default)
    {
        var session = await client.CreateSessionAsync(tenant, request, ct);
        return new FederatedModeller(client, session, pinnedFingerprints, random ?? SystemRandomSource.Instance);
    }

    /// <summary>
    /// Waits until every pod published its member key (or one declined, or <paramref name="timeout"/> passed), checks each
    /// key's signature against the pod's pinned (or registered) identity, and seals the content key to all of them.
    /// </summary>
    public async Task OpenChannelAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        using var span = SmpcClient.StartSessionActivity("federated.open_channel", Session);
        var deadline = DateTimeOffset.UtcNow + timeout;
        var session = await _client.GetSessionAsync(Session.Tenant, Session.Id, ct);
        while (session.Federated!.MemberKeys.Count < session.PodIds.Count)
        {
            ThrowIfEnded(session);
            var left = deadline - DateTimeOffset.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                var missing = session.PodIds.Where(p => !session.Federated.MemberKeys.ContainsKey(p));
                var reason = $"pods did not join within {timeout.TotalSeconds:F0} s: {string.Join(", ", missing)}";
                await _client.FinishFederatedAsync(Session.Tenant, Session.Id, reason, ct);
                throw new FederatedSessionFailedException(reason);
            }

            session = await _client.WaitForSessionChangeAsync(Session.Tenant, Session.Id, session.Version, (int)Math.Clamp(left.TotalSeconds, 1, 20), ct);
        }

        var pins = await AggregationSession.PinsAsync(_client, session, _pins, ct);
        var boxes = new Dictionary<string, byte[]>();
        foreach (var (pod, i) in session.PodIds.Select((p, i) => (p, i)))
        {
            var key = session.Federated.MemberKeys[pod];
            var identity = Convert.FromBase64String((await _client.GetPodAsync(session.Tenant, pod, ct)).IdentityPublicKey
                ?? throw new InvalidOperationException($"Pod {pod} has no identity key."));
            var memberKey = Convert.FromBase64String(key.PublicKey);
            FederatedChannel.VerifyMemberKey(pins[i + 1], identity, session.Tenant, session.Id, pod, memberKey, Convert.FromBase64String(key.Signature));
            boxes[pod] = FederatedChannel.SealContentKey(_contentKey, memberKey, session.Tenant, session.Id, pod, _random);
        }

        Session = await _client.PutSealedKeysAsync(Session.Tenant, Session.Id, boxes, ct);
    }

    /// <summary>Encrypts <paramref name="value"/> (as JSON) under the content key and stores it as release <paramref name="name"/>.</summary>
    public async Task ReleaseAsync<T>(string name, T value, CancellationToken ct = default)
    {
        using var span = SmpcClient.StartSessionActivity("federated.release", Session);
        span?.SetTag("smpc.release", name);
        var sealedRelease = FederatedChannel.SealRelease(_contentKey, Session.Tenant, Session.Id, name, JsonSerializer.SerializeToUtf8Bytes(value, Json), _random);
        Session = await _client.UploadReleaseAsync(Session.Tenant, Session.Id, name, sealedRelease, ct);
    }

    /// <summary>Runs round <paramref name="round"/>: a secure-aggregation sum over <paramref name="pods"/> of the given fields, computed here.</summary>
    public async Task<AggregationOutcome> RunRoundAsync(
        string round, IReadOnlyList<string> pods, IReadOnlyList<AggregationFieldRequest> fields, int timeoutSeconds, CancellationToken ct = default)
    {
        ThrowIfEnded(await _client.GetSessionAsync(Session.Tenant, Session.Id, ct));
        using var span = SmpcClient.StartSessionActivity("federated.round", Session);
        span?.SetTag("smpc.round", round);
        var request = new AggregationRequest(fields, "sum", "", round, PhaseTimeoutSeconds: timeoutSeconds);
        using var aggregation = await ModellerAggregation.CreateAsync(
            _client, Session.Tenant, RoundSessionId(Session.Id, round), Session.ModellerId, pods, request, _random, _pins, ct, parent: Session.Id);
        // A pod that refuses the round declines the parent: stop waiting for the round then, with the pod's reason.
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var parentEnded = WatchParentAsync(watching.Token);
        var result = aggregation.WaitForResultAsync(watching.Token);
        try
        {
            if (await Task.WhenAny(result, parentEnded) == parentEnded && parentEnded.IsCompletedSuccessfully)
                throw new FederatedSessionFailedException(parentEnded.Result);
            return await result;
        }
        catch (SecureAggregationFailedException ex)
        {
            ThrowIfEnded(await _client.GetSessionAsync(Session.Tenant, Session.Id, ct));
            throw new FederatedSessionFailedException($"round {round} failed: {ex.Message}");
        }
        finally
        {
            await watching.CancelAsync();
            await Task.WhenAll(result, parentEnded).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>Completes with the reason when the parent session leaves <c>running</c>; long-polls until cancelled.</summary>
    private async Task<string> WatchParentAsync(CancellationToken ct)
    {
        var session = await _client.GetSessionAsync(Session.Tenant, Session.Id, ct);
        while (session.Phase == SessionPhases.Running)
            session = await _client.WaitForSessionChangeAsync(Session.Tenant, Session.Id, session.Version, 20, ct);
        return session.Federated?.FailureReason ?? session.CancelledText() ?? $"the session is {session.Phase}";
    }

    /// <summary>Publishes metrics of a round.</summary>
    public async Task ReportAsync(string round, IReadOnlyDictionary<string, double> values, CancellationToken ct = default) =>
        Session = await _client.ReportRoundMetricsAsync(Session.Tenant, Session.Id, round, values, ct);

    /// <summary>Ends the session: completed, or failed with <paramref name="failureReason"/>.</summary>
    public async Task<SessionResponse> FinishAsync(string? failureReason = null, CancellationToken ct = default) =>
        Session = await _client.FinishFederatedAsync(Session.Tenant, Session.Id, failureReason, ct);

    /// <summary>The id of round <paramref name="round"/>'s secure-aggregation session: "{parent}-{round}", shortened with a hash when too long.</summary>
    public static string RoundSessionId(string parent, string round)
    {
        var id = $"{parent}-{round}";
        if (id.Length <= 63) return id;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(parent)))[..8];
        return $"{parent[..Math.Max(1, 63 - round.Length - 10)].TrimEnd('-')}-{hash}-{round}";
    }

    private static void ThrowIfEnded(SessionResponse session)
    {
        if (session.Phase == SessionPhases.Failed) throw new FederatedSessionFailedException(session.Federated?.FailureReason ?? "the session failed");
        if (session.Phase == SessionPhases.Completed) throw new FederatedSessionFailedException("the session is already completed");
        if (session.CancelledText() is { } cancelled) throw new FederatedSessionFailedException($"the session was {cancelled}");
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_contentKey);
}

/// <summary>A federated session ended without its result; the message says why (often a pod's policy reason).</summary>
public sealed class FederatedSessionFailedException(string reason) : Exception(reason);
