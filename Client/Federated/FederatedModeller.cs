using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Smpc.Client.Identity;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
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
    private readonly PinStore _pins;
    private readonly IRandomSource _random;

    private FederatedModeller(SmpcClient client, SessionResponse session, PinStore pins, IRandomSource random)
    {
        _client = client;
        Session = session;
        _pins = pins;
        _random = random;
        _contentKey = FederatedChannel.NewContentKey(random);
    }

    /// <summary>The parent session, as last read.</summary>
    public SessionResponse Session { get; private set; }

    /// <summary>
    /// Creates the parent session (kind query or training, per <paramref name="request"/>). Pods' identities are held to
    /// <paramref name="pins"/> (null: first use in memory for this session only, see <see cref="AggregationSession.EphemeralPins"/>).
    /// </summary>
    public static async Task<FederatedModeller> CreateAsync(
        SmpcClient client, string tenant, CreateSessionRequest request, PinStore? pins = null,
        IRandomSource? random = null, CancellationToken ct = default)
    {
        var session = await client.CreateSessionAsync(tenant, request, ct);
        return new FederatedModeller(client, session, pins ?? AggregationSession.EphemeralPins(), random ?? SystemRandomSource.Instance);
    }

    /// <summary>
    /// Waits until every pod published its member key (or one declined, or <paramref name="timeout"/> passed), checks each
    /// key's signature against the identity key the registry presents, that key against the pod's pin in the party's
    /// <see cref="PinStore"/> (first use announced, a change refused), and seals the content key to all of them.
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

        // Every key is checked against its pin before the content key is sealed to any pod.
        var members = new List<(string Pod, byte[] MemberKey)>();
        foreach (var pod in session.PodIds)
        {
            var key = session.Federated.MemberKeys[pod];
            var identity = Convert.FromBase64String((await _client.GetPodAsync(session.Tenant, pod, ct)).IdentityPublicKey
                ?? throw new PinMismatchException(session.Tenant, PinKinds.Pod, pod, _pins.Find(session.Tenant, PinKinds.Pod, pod)?.Fingerprint, null,
                    $"The service presents no identity key for pod '{pod}' of tenant '{session.Tenant}'."));
            // The registry's key only presents a fingerprint: the pin decides (a registry that swaps the key is refused here).
            var pinned = _pins.Resolve(session.Tenant, PinKinds.Pod, pod, KeyFingerprint.Compute(identity));
            var memberKey = Convert.FromBase64String(key.PublicKey);
            FederatedChannel.VerifyMemberKey(pinned, identity, session.Tenant, session.Id, pod, memberKey, Convert.FromBase64String(key.Signature));
            members.Add((pod, memberKey));
        }

        // Each seal is signed with the modeller's identity (the key that signed the session), so pods can tell it from a
        // content key the service sealed to them itself.
        var signer = Identity();
        var boxes = members.ToDictionary(m => m.Pod, m => FederatedChannel.SignContentKeySeal(
            signer, session.Tenant, session.Id, m.Pod, m.MemberKey,
            FederatedChannel.SealContentKey(_contentKey, m.MemberKey, session.Tenant, session.Id, m.Pod, _random)));
        Session = await _client.PutSealedKeysAsync(Session.Tenant, Session.Id, boxes, ct);
    }

    /// <summary>Encrypts <paramref name="value"/> (as JSON) under the content key, signs it, and stores it as release <paramref name="name"/>.</summary>
    public async Task ReleaseAsync<T>(string name, T value, CancellationToken ct = default)
    {
        using var span = SmpcClient.StartSessionActivity("federated.release", Session);
        span?.SetTag("smpc.release", name);
        var box = FederatedChannel.SealRelease(_contentKey, Session.Tenant, Session.Id, name, JsonSerializer.SerializeToUtf8Bytes(value, Json), _random);
        var sealedRelease = FederatedChannel.SignRelease(Identity(), Session.Tenant, Session.Id, name, box);
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

    /// <summary>The identity key that signs seals and releases; without one pods would refuse them, so nothing is sent.</summary>
    private Ed25519KeyPair Identity() => _client.ModellerIdentity
        ?? throw new FederatedSessionFailedException(
            $"modeller {Session.ModellerId} has no identity key on this client (SmpcClient.WithModellerIdentity): pods accept only content keys and releases it signs");

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
