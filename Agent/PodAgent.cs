using System.Collections.Concurrent;
using System.Text.Json;
using Smpc.Agent.Identity;
using Smpc.Agent.Psi;
using Smpc.Agent.SecureAggregation;
using Smpc.Client;
using Smpc.Client.Identity;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Protocols;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Agent;

/// <summary>
/// The long-running pod agent (<c>smpc pod run</c>): asks the service for the pod's sessions, applies the pod's own policy,
/// and runs each accepted secure-aggregation session locally. Inputs and secrets stay in this process; the agent remembers
/// finished sessions in its state directory and backs off while the service is unavailable.
/// </summary>
public sealed partial class PodAgent(PodAgentConfig config, string baseDirectory, SmpcClient client, Action<string> log)
{
    private readonly ConcurrentDictionary<string, Task> _running = new();
    private readonly string _statePath = Path.Combine(Resolve(baseDirectory, config.StateDirectory), "sessions.json");
    private readonly ModellerVerifier _verifier = new(client, config.CreatePinStore(baseDirectory, log));

    /// <summary>Loads a configuration file and builds the agent with its own HTTP client.</summary>
    public static PodAgent FromFile(string path, Action<string> log) => FromFile(path, log, new PodAgentOverrides());

    /// <summary>
    /// Loads a configuration file, checked against docs/agent-config.schema.json first, and builds the agent with its own HTTP
    /// client. The key is the first of <see cref="PodAgentOverrides.ApiKey"/>, the file's <c>apiKey</c> and the environment
    /// variable it names; the URL the first of <see cref="PodAgentOverrides.Url"/> and the file's <c>url</c>.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid configuration (the message names the JSON path), or no key is given.</exception>
    public static PodAgent FromFile(string path, Action<string> log, PodAgentOverrides overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var text = File.ReadAllText(path);
        AgentConfigSchema.Require(text, Path.GetFileName(path));
        var config = JsonSerializer.Deserialize<PodAgentConfig>(text, new JsonSerializerOptions(JsonSerializerDefaults.Web))
            ?? throw new InvalidDataException($"{path} is not a pod agent configuration.");
        if (overrides.Url is { } url) config = config with { Url = url };
        var key = overrides.ApiKey ?? config.ApiKey ?? (Environment.GetEnvironmentVariable(config.ApiKeyEnvironmentVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null)
            ?? throw new InvalidDataException(
                $"No API key for pod {config.Tenant}/{config.Pod}: pass --key, set the environment variable {config.ApiKeyEnvironmentVariable}, or apiKey in {Path.GetFileName(path)}.");
        // `url` may list several gateways (comma-separated): the agent fails over between them.
        var client = SmpcClient.Resilient(Gateways(config.Url, overrides.Url is null ? $"{Path.GetFileName(path)}: $.url" : "--url"), key,
            TimeSpan.FromMinutes(5), overrides.RetryFor, overrides.OnRetry)
            .WithTransfers(TransferRetryPolicy.Default with { OnRetry = retry => log(retry.ToString()) }); // every retried transfer shows in the agent's log
        return new PodAgent(config, Path.GetDirectoryName(Path.GetFullPath(path))!, client, log);
    }

    private static IReadOnlyList<Uri> Gateways(string urls, string where)
    {
        try
        {
            var gateways = SmpcClient.ParseGateways(urls);
            if (gateways.Count > 0 && gateways.All(g => g.Scheme is "http" or "https")) return gateways;
        }
        catch (UriFormatException)
        {
        }

        throw new InvalidDataException($"{where}: '{urls}' is not an http(s) address; give e.g. http://127.0.0.1:5080 (several: comma-separated).");
    }

    /// <summary>The configuration as loaded (after overrides).</summary>
    public PodAgentConfig Config => config;

    /// <summary>Checks with the service that the key acts as this pod; throws <see cref="SmpcApiException"/> (403) naming who it acts as otherwise.</summary>
    public async Task VerifyKeyAsync(CancellationToken ct)
    {
        var me = await client.WhoAmIAsync(ct);
        if (me.Role != "Pod" || me.Tenant != config.Tenant || me.Subject != config.Pod)
            throw new SmpcApiException(System.Net.HttpStatusCode.Forbidden, null, "Wrong key",
                $"The API key acts as {me.Role} {me.Tenant}/{me.Subject}, not as pod {config.Tenant}/{config.Pod}: give the pod's own key.");
    }

    /// <summary>How long one request for new work may wait (0 = poll every <see cref="PodAgentConfig.PollSeconds"/>).</summary>
    public int LongPollSeconds { get; init; } = 20;

    /// <summary>Runs until cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var identity = IdentityKeyFile.Load(Resolve(baseDirectory, config.IdentityKeyFile));
        var finished = LoadFinished();
        await VerifyIdentityAsync(identity.Fingerprint, ct);
        log($"pod {config.Tenant}/{config.Pod} (identity {identity.Fingerprint}) polling {config.Url}; {finished.Count} sessions already finished");
        var backoff = TimeSpan.Zero;
        string? newest = null; // null: list once; then long-poll for a newer session
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var sessions = newest is null
                    ? await client.ListPodSessionsAsync(config.Tenant, config.Pod, ct)
                    : await client.WaitForPodSessionsAsync(config.Tenant, config.Pod, newest, LongPollSeconds, ct);
                newest = sessions.LastOrDefault() ?? "-"; // "-": none yet (never a valid session id)
                foreach (var id in sessions)
                {
                    if (finished.Contains(id) || _running.ContainsKey(id)) continue;
                    var session = await client.GetSessionAsync(config.Tenant, id, ct);
                    if (session.Kind == SessionKinds.Psi)
                    {
                        _running[id] = RunPsiAsync(session, finished, ct);
                        continue;
                    }

                    if (session.Kind is SessionKinds.Query or SessionKinds.Training)
                    {
                        StartFederated(session, identity, finished, ct);
                        continue;
                    }

                    if (session.Parent is not null)
                    {
                        _running[id] = RunRoundAsync(session, identity, finished, ct);
                        continue;
                    }

                    VerifiedModeller? modeller = null;
                    if (!session.HasEnded() && (modeller = await VerifyOrRefuseAsync(session, ct)) is null)
                    {
                        MarkFinished(finished, id);
                        continue;
                    }

                    var refusal = Assess(session, out var input, out var weight, modeller);
                    if (refusal is not null)
                    {
                        log($"session {id}: declined ({refusal.Message})");
                        if (refusal.Category is { } category) await DeclineAsync(session.Id, category, ct);
                        MarkFinished(finished, id);
                        continue;
                    }

                    _running[id] = RunSessionAsync(session, input!, weight, identity, finished, ct);
                }

                backoff = TimeSpan.Zero;
            }
            catch (Exception ex) when (Transient.Is(ex, ct))
            {
                backoff = Transient.Next(backoff);
                log($"service unavailable ({ex.Message}); retrying in {backoff.TotalSeconds:F1}s");
            }

            try
            {
                // Long polling paces the loop; a short pause only after errors (backoff) or with long polling off.
                if (backoff > TimeSpan.Zero) await Task.Delay(backoff, ct);
                else if (LongPollSeconds == 0) await Task.Delay(TimeSpan.FromSeconds(config.PollSeconds), ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await Task.WhenAll(_running.Values).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    /// <summary>
    /// Refuses to start (<see cref="PodIdentityMismatchException"/>, naming both fingerprints) when the identity key file
    /// holds another key than the one registered for the pod: every bundle it signed would be refused, or worse, pinned.
    /// </summary>
    private async Task VerifyIdentityAsync(string fingerprint, CancellationToken ct)
    {
        var backoff = TimeSpan.Zero;
        while (true)
        {
            try
            {
                var registered = (await client.GetPodAsync(config.Tenant, config.Pod, ct)).IdentityFingerprint;
                if (registered != fingerprint) throw new PodIdentityMismatchException(config.Pod, fingerprint, registered);
                return;
            }
            catch (Exception ex) when (Transient.Is(ex, ct))
            {
                backoff = Transient.Next(backoff);
                log($"service unavailable ({ex.Message}); retrying in {backoff.TotalSeconds:F1}s");
                await Task.Delay(backoff, ct);
            }
        }
    }

    /// <summary>The pod's policy: why it will not take part, or null (and the input x it will contribute, with its weight for a weighted mean).</summary>
    public string? Refuse(SessionResponse session, out double[]? input, out double? weight) => Assess(session, out input, out weight)?.Message;

    /// <summary>
    /// The pod's policy and its input's checks, before it joins: a refusal with the category to tell the session, or null
    /// (and the input x it will contribute, with its weight for a weighted mean, already known to encode within the bounds).
    /// </summary>
    /// <remarks>
    /// The allow-list is checked against <paramref name="modeller"/>, the identity whose signature verified (ids and
    /// <c>sha256:</c> fingerprints); without one (a library caller that verified nothing) only ids compare, by name.
    /// </remarks>
    public PodRefusal? Assess(SessionResponse session, out double[]? input, out double? weight, VerifiedModeller? modeller = null)
    {
        input = null;
        weight = null;
        if (session.Kind != SessionKinds.SecureAggregation || session.Aggregation is not { } a) return new(null, "not a secure-aggregation session");
        if (session.HasEnded()) return new(null, $"already {session.Phase}");
        var resuming = File.Exists(PartyState(session.Id).Path);
        if (session.Phase != SessionPhases.KeyExchange && !resuming) return new(null, $"joined too late (phase {session.Phase})");
        if (!(modeller?.IsAllowedBy(config.Policy.Modellers) ?? (config.Policy.Modellers.Count == 0 || config.Policy.Modellers.Contains(session.ModellerId))))
            return new(DeclineCategories.Policy, $"modeller {session.ModellerId} is not allowed");
        if (config.Policy.Operations.Count > 0 && !config.Policy.Operations.Contains(a.Operation))
            return new(DeclineCategories.Policy, $"operation {a.Operation} is not allowed");
        if (!config.Inputs.TryGetValue(a.Input, out var named)) return new(DeclineCategories.InputMissing, $"no input named '{a.Input}'");
        try
        {
            input = InputLoader.Load(named, baseDirectory);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or JsonException or UnauthorizedAccessException or FormatException)
        {
            input = null;
            return new(DeclineCategories.InputMissing, $"input '{a.Input}' cannot be read: {ex.Message}");
        }

        var expected = a.Fields.Sum(f => f.Length);
        if (input.Length != expected)
        {
            var hint = a.Weight is not null && input.Length == expected + 1
                ? $"; for a weighted mean give x alone and the weight as inputs.{a.Input}.weight or weightRowsOf (the agent forms w·x)"
                : "";
            var length = input.Length;
            input = null;
            return new(DeclineCategories.ShapeMismatch, $"input '{a.Input}' has {length} values, the session expects {expected}{hint}");
        }

        try
        {
            if (a.Weight is not null)
            {
                weight = InputLoader.Weight(named, baseDirectory);
                Array.Clear(AggregationSession.WeightedLayout(session)!.Encode(input, weight.Value)); // x and w each within their own bounds
            }
            else
            {
                _ = AggregationSession.Parameters(session).Codec.Encode(input); // the bounds and finiteness the masked vector will need
            }
        }
        catch (InputRejectedException ex)
        {
            input = null;
            weight = null;
            return new(Category(ex), $"input '{a.Input}': {ex.Message}");
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or JsonException or UnauthorizedAccessException or FormatException)
        {
            input = null;
            weight = null;
            return new(DeclineCategories.InputMissing, $"input '{a.Input}': {ex.Message}");
        }

        return null;
    }

    /// <summary>The category of a refused input (the exception names the field, never the value).</summary>
    public static string Category(InputRejectedException ex) => ex.Error switch
    {
        ProtocolError.NonFiniteValue => DeclineCategories.InputNotFinite,
        ProtocolError.ValueOutOfBounds => DeclineCategories.InputOutOfBounds,
        ProtocolError.Malformed => DeclineCategories.ShapeMismatch,
        _ => DeclineCategories.Internal,
    };

    /// <summary>Tells the session the pod will not take part (best effort: the phase deadline drops it anyway).</summary>
    private async Task DeclineAsync(string sessionId, string category, CancellationToken ct)
    {
        try
        {
            await client.DeclineAggregationAsync(config.Tenant, sessionId, category, ct);
        }
        catch (Exception ex) when (ex is SmpcApiException or HttpRequestException || Transient.Is(ex, ct))
        {
            log($"session {sessionId}: could not tell the service ({ex.Message}); the phase deadline will drop this pod");
        }
    }

    private async Task RunSessionAsync(SessionResponse session, double[] input, double? weight, Ed25519KeyPair identity, HashSet<string> finished, CancellationToken ct)
    {
        try
        {
            await RunAggregationAsync(session, input, weight, identity, finished, ct);
        }
        finally
        {
            _running.TryRemove(session.Id, out _);
        }
    }

    private async Task RunAggregationAsync(SessionResponse session, double[] input, double? weight, Ed25519KeyPair identity, HashSet<string> finished, CancellationToken ct)
    {
        var stateFile = PartyState(session.Id);
        var verb = File.Exists(stateFile.Path) ? "resuming" : "joining";
        log($"session {session.Id}: {verb} ({session.Aggregation!.Operation} of '{session.Aggregation.Input}', {input.Length} values, modeller {session.ModellerId})");
        try
        {
            var driver = new SecureAggregationPodDriver(client, config.Tenant, session.Id, config.Pod, identity, _ => input, pinnedFingerprints: config.Pins)
            {
                StateFile = stateFile,
                Weight = weight is { } w ? _ => w : null,
                Verifier = _verifier,
            };
            var final = await driver.RunAsync(ct);
            log($"session {session.Id}: {final.Phase}{(final.Aggregation?.FailureReason is { } r ? $" ({r})" : "")}{EndedBy(final)}");
            MarkFinished(finished, session.Id);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // Failing, the pod tells the session at once, so the others need not wait for its deadline.
            var category = ex switch
            {
                InputRejectedException rejected => Category(rejected),
                UnverifiedSessionException => DeclineCategories.UnverifiedModeller,
                _ => DeclineCategories.Internal,
            };
            log($"session {session.Id}: stopped ({category}): {ex.Message}");
            await DeclineAsync(session.Id, category, ct);
            MarkFinished(finished, session.Id);
        }
    }

    private async Task RunPsiAsync(SessionResponse session, HashSet<string> finished, CancellationToken ct)
    {
        var stateDirectory = Path.GetDirectoryName(_statePath)!;
        try
        {
            VerifiedModeller? modeller = null;
            if (session.Phase == SessionPhases.AwaitingPod && (modeller = await VerifyOrRefuseAsync(session, ct)) is null)
            {
                MarkFinished(finished, session.Id);
                return;
            }

            var driver = new PsiPodDriver(client, config.Tenant, config.Pod, config.Sources, config.Psi, baseDirectory, stateDirectory, log)
            {
                Modeller = modeller,
                Verifier = _verifier,
            };
            var final = await driver.RunAsync(session, ct);
            log($"session {session.Id}: {final.Phase}{(final.Psi?.FailureReason is { } r ? $" ({r})" : "")}{EndedBy(final)}");
            MarkFinished(finished, session.Id);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            log($"session {session.Id}: stopped: {ex.Message}"); // the driver has declined the session already
            MarkFinished(finished, session.Id);
        }
        finally
        {
            _running.TryRemove(session.Id, out _);
        }
    }

    /// <summary>
    /// Verifies the modeller's signature of a session before the pod's first protocol step. On failure the pod sends
    /// nothing for the session but a decline naming the reason (so nobody waits for its deadline), and says so loudly.
    /// </summary>
    private async Task<VerifiedModeller?> VerifyOrRefuseAsync(SessionResponse session, CancellationToken ct)
    {
        try
        {
            return await _verifier.VerifyAsync(session, ct);
        }
        catch (UnverifiedSessionException ex)
        {
            log($"REFUSED {ex.Message}. This pod sends nothing for the session.");
            var reason = $"the modeller's signature of the session is not valid for this pod ({ex.Reason})";
            try
            {
                switch (session.Kind)
                {
                    case SessionKinds.Psi:
                        await client.DeclinePsiAsync(config.Tenant, session.Id, reason, ct);
                        break;
                    case SessionKinds.Query or SessionKinds.Training:
                        await DeclineAsync(session, reason, ct);
                        break;
                    default:
                        await DeclineAsync(session.Id, DeclineCategories.UnverifiedModeller, ct);
                        break;
                }
            }
            catch (Exception inner) when (inner is SmpcApiException or HttpRequestException)
            {
                log($"session {session.Id}: could not tell the service ({inner.Message})");
            }

            return null;
        }
    }

    /// <summary>For a cancelled session: whether the modeller's signature shows it ended it, or the service (or the admin) did.</summary>
    private string EndedBy(SessionResponse session) =>
        session.Phase != SessionPhases.Cancelled ? ""
        : _verifier.CancelledByModeller(session) ? " by the modeller (its signature of the cancel verified)"
        : $" by the service (or the tenant admin), not the modeller: the cancel ({session.Cancellation?.Role ?? "unknown"}) carries no valid signature of the modeller";

    private PartyStateFile PartyState(string sessionId) => new(Path.Combine(Path.GetDirectoryName(_statePath)!, sessionId + ".party"));

    private HashSet<string> LoadFinished() =>
        File.Exists(_statePath) ? JsonSerializer.Deserialize<HashSet<string>>(File.ReadAllText(_statePath)) ?? [] : [];

    private void MarkFinished(HashSet<string> finished, string id)
    {
        lock (finished)
        {
            finished.Add(id);
            new PartyStateFile(_statePath).Save(JsonSerializer.SerializeToUtf8Bytes(finished)); // owner-only, durable rename
        }
    }

    private static string Resolve(string baseDirectory, string path) => Path.IsPathRooted(path) ? path : Path.Combine(baseDirectory, path);
}
