using System.Text.Json;
using Smpc.Client;
using Smpc.Client.Identity;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Protocols;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Federated;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Agent.Federated;

/// <summary>
/// A pod's side of a federated session's channel: its member key (kept owner-only in the agent's state directory so a
/// restarted agent resumes), the content key the modeller sealed to it, and the releases it decrypts.
/// </summary>
public sealed class FederatedPodChannel : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly SmpcClient _client;
    private readonly string _tenant;
    private readonly string _session;
    private readonly string _pod;
    private readonly X25519KeyPair _memberKey;
    private readonly PartyStateFile _file;
    private readonly byte[] _modellerKey;
    private byte[]? _contentKey;

    private FederatedPodChannel(SmpcClient client, string tenant, string session, string pod, X25519KeyPair memberKey, PartyStateFile file, byte[] modellerKey)
    {
        _modellerKey = modellerKey;
        _client = client;
        _tenant = tenant;
        _session = session;
        _pod = pod;
        _memberKey = memberKey;
        _file = file;
    }

    /// <summary>
    /// Loads the pod's member key for <paramref name="sessionId"/> from <paramref name="stateDirectory"/>, or creates and saves a
    /// fresh one. <paramref name="modeller"/> is the session's modeller as verified against its pin: every sealed content key
    /// and release must carry its signature.
    /// </summary>
    public static FederatedPodChannel LoadOrCreate(SmpcClient client, string tenant, string sessionId, string pod, string stateDirectory, VerifiedModeller modeller)
    {
        ArgumentNullException.ThrowIfNull(modeller);
        // Without the verified key nothing the modeller sends could be checked: refuse before creating any state.
        if (modeller.IdentityKey.Length != Ed25519KeyPair.KeySize)
            throw new FederatedRefusalException($"{DeclineCategories.UnverifiedModeller}: no verified identity key of modeller {modeller.Id} to check its content key and releases against");
        var file = new PartyStateFile(Path.Combine(stateDirectory, sessionId + ".member"));
        var stored = file.Load();
        X25519KeyPair key;
        if (stored is { Length: X25519KeyPair.KeySize })
        {
            key = X25519KeyPair.FromPrivateKey(stored);
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(stored);
        }
        else
        {
            key = X25519KeyPair.Generate(SystemRandomSource.Instance);
            file.Save(key.PrivateKey.ToArray());
        }

        return new FederatedPodChannel(client, tenant, sessionId, pod, key, file, modeller.IdentityKey.ToArray());
    }

    /// <summary>Deletes whatever a pod kept for <paramref name="sessionId"/> (member key, round ledger), e.g. when it never joined.</summary>
    public static void Discard(string stateDirectory, string sessionId)
    {
        foreach (var path in new[] { sessionId + ".member", sessionId + ".rounds" }.Select(n => Path.Combine(stateDirectory, n)))
            new PartyStateFile(path).Delete(); // overwritten with zeros, then deleted
    }

    /// <summary>Publishes the member key, signed with the pod's identity key (idempotent).</summary>
    public Task<SessionResponse> PublishAsync(Ed25519KeyPair identity, CancellationToken ct = default)
    {
        var signature = FederatedChannel.SignMemberKey(identity, _tenant, _session, _pod, _memberKey.PublicKey);
        var request = new MemberKeyRequest(Convert.ToBase64String(_memberKey.PublicKey), Convert.ToBase64String(signature));
        return Transient.RetryAsync(() => _client.PutMemberKeyAsync(_tenant, _session, _pod, request, ct), ct);
    }

    /// <summary>
    /// Decrypts release <paramref name="name"/> (JSON) with the content key sealed to this pod. Both the seal and the release
    /// must carry the verified modeller's signature, checked before either is opened; otherwise a
    /// <see cref="FederatedRefusalException"/> starting with <c>unverified-modeller</c> (the pod then sends nothing more).
    /// </summary>
    public async Task<T> ReadReleaseAsync<T>(string name, CancellationToken ct = default)
    {
        if (_contentKey is null)
        {
            var session = await Transient.RetryAsync(() => _client.GetSessionAsync(_tenant, _session, ct), ct);
            if (session.Federated?.SealedKeys.GetValueOrDefault(_pod) is not { } encoded)
                throw new InvalidOperationException($"Session {_session} has no content key sealed to pod {_pod} yet.");
            var box = Verified(() => FederatedChannel.VerifyContentKeySeal(_modellerKey, Convert.FromBase64String(encoded), _tenant, _session, _pod, _memberKey.PublicKey));
            _contentKey = FederatedChannel.OpenContentKey(_memberKey, box, _tenant, _session, _pod);
        }

        var signedRelease = await Transient.RetryAsync(() => _client.DownloadReleaseAsync(_tenant, _session, name, ct), ct);
        var sealedRelease = Verified(() => FederatedChannel.VerifyRelease(_modellerKey, signedRelease, _tenant, _session, name));
        var plaintext = FederatedChannel.OpenRelease(_contentKey, _tenant, _session, name, sealedRelease);
        return JsonSerializer.Deserialize<T>(plaintext, Json) ?? throw new InvalidDataException($"Release '{name}' is empty.");
    }

    /// <summary>Runs a signature check; its failure becomes the pod's named refusal (decline category unverified-modeller).</summary>
    private static byte[] Verified(Func<byte[]> check)
    {
        try
        {
            return check();
        }
        catch (Exception ex) when (ex is ProtocolException or FormatException)
        {
            throw new FederatedRefusalException($"{DeclineCategories.UnverifiedModeller}: {ex.Message}");
        }
    }

    /// <summary>
    /// Records that round <paramref name="label"/> runs as session <paramref name="roundSessionId"/>; false if the label already
    /// ran as another session. A pod answers each round once: two sums of one round over different pods (or dropouts)
    /// would give away one pod's vector. The ledger is kept beside the member key, so a restart does not forget it.
    /// </summary>
    public bool ClaimRound(string label, string roundSessionId)
    {
        lock (_file)
        {
            var ledger = Rounds();
            if (ledger.TryGetValue(label, out var existing)) return existing == roundSessionId;
            ledger[label] = roundSessionId;
            new PartyStateFile(LedgerPath).Save(JsonSerializer.SerializeToUtf8Bytes(ledger)); // owner-only, durable: a restart must not forget a round
            return true;
        }
    }

    /// <summary>The rounds this pod has answered: label → round session id.</summary>
    public Dictionary<string, string> Rounds() =>
        File.Exists(LedgerPath) ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(LedgerPath)) ?? [] : [];

    private string LedgerPath => Path.ChangeExtension(_file.Path, ".rounds");

    /// <summary>Reads another session of the tenant as this pod sees it (e.g. an earlier round), retrying while the service is unavailable.</summary>
    public Task<SessionResponse> GetSessionAsync(string sessionId, CancellationToken ct = default) =>
        Transient.RetryAsync(() => _client.GetSessionAsync(_tenant, sessionId, ct), ct);

    /// <summary>Forgets the member key (and the round ledger) once the session has ended.</summary>
    public void Forget()
    {
        _file.Delete();
        new PartyStateFile(LedgerPath).Delete();
    }

    public void Dispose()
    {
        _memberKey.Dispose();
        if (_contentKey is not null) System.Security.Cryptography.CryptographicOperations.ZeroMemory(_contentKey);
    }
}
