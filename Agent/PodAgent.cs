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
    private readonly DifferencingLedger _ledger = new(Path.Combine(Resolve(baseDirectory, config.StateDirectory), "differencing-ledger.json"));

    /// <summary>The clock the differencing ledger dates sessions by.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>The pod's differencing ledger (in its state directory).</summary>
    public DifferencingLedger Ledger => _ledger;

    // One store for every session of this agent: a peer pinned on first use in one session is held to that key in all later ones.
    private readonly PinStore _pins = config.CreatePinStore(baseDirectory, line => log($"WARNING {line}"));
    // Verifies modellers through the same store, so pods and modellers pinned on first use live in one file.
    private ModellerVerifier? _modellerVerifier;

    private ModellerVerifier ModellerCheck => _modellerVerifier ??= new(client, _pins);

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

    /// <summary>The agent's pin store (configured pins, the pins file, trust on first use).</summary>
    public PinStore Pins => _pins;

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
        SweepFinished(finished);
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
                        PartyState(id).Delete(); // a resumed session refused now: its saved state goes too
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
    /// The last check is the differencing guard; a session that passes it is recorded in <see cref="Ledger"/>.
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

        if (Differencing(session, InputLedgerKey(a.Input), named) is { } differencing)
        {
            input = null;
            weight = null;
            return new(DeclineCategories.Policy, differencing);
        }

        return null;
    }

    /// <summary>
    /// The pod set this pod trusts for session <paramref name="session"/>: the one the differencing guard counts. The pod list
    /// is part of the modeller's signed session statement, verified (and held to the same statement on every later copy)
    /// before the policy runs, so the service cannot shrink or reorder it unnoticed.
    /// </summary>
    public static IReadOnlyList<string> TrustedPodSet(SessionResponse session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.PodIds;
    }

    /// <summary>The ledger key of a plain session: its named input (sessions over one input are compared with each other).</summary>
    public static string InputLedgerKey(string input) => "input:" + input;

    /// <summary>
    /// The ledger key of a federated round. Training rounds all derive from the same rows, so every round of one training
    /// session shares the key of the session (they run over the session's pods, so their sets are equal and never refused).
    /// A query's rounds carry different quantities (counts, then sums of values over the pods the counts included), each
    /// answered once, so each has its own key.
    /// </summary>
    public static string RoundLedgerKey(SessionResponse parent, string label)
    {
        ArgumentNullException.ThrowIfNull(parent);
        return parent.Kind == SessionKinds.Training ? "session:" + parent.Id : $"session:{parent.Id}/{label}";
    }

    /// <summary>
    /// The differencing guard's second look, before this pod's unmask answer makes the sum computable: the pods whose inputs
    /// are in the sum (U3, which dropouts may have made smaller than the session's pod list) against the minimum and the ledger.
    /// </summary>
    private string? Included(SessionResponse session, Protocols.SecureAggregation.UnmaskRequest request, string key, PodInput? named)
    {
        var pods = TrustedPodSet(session);
        if (request.Survivors.Any(p => p < 1 || p > pods.Count)) return $"the unmask request names parties outside 1..{pods.Count}";
        try
        {
            var rule = DifferencingRule.For(config.Policy, named);
            return _ledger.Confirm(key, session.Id, [.. request.Survivors.Select(p => pods[p - 1])], rule, Clock.GetUtcNow()) is { } reason
                ? $"differencing guard: {reason}"
                : null;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return $"differencing guard: the ledger cannot be used ({ex.Message})";
        }
    }

    /// <summary>The differencing guard: why the session is refused (the message stays in the pod's log), or null once it is recorded.</summary>
    private string? Differencing(SessionResponse session, string key, PodInput? named)
    {
        try
        {
            var rule = DifferencingRule.For(config.Policy, named);
            return _ledger.Admit(key, session.Id, TrustedPodSet(session), rule, Clock.GetUtcNow()) is { } reason ? $"differencing guard: {reason}" : null;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return $"differencing guard: the ledger cannot be used ({ex.Message})"; // no check, no contribution
        }
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
            await RunAggregationAsync(session, input, weight, identity, finished, InputLedgerKey(session.Aggregation!.Input), config.Inputs[session.Aggregation.Input], ct);
        }
        finally
        {
            _running.TryRemove(session.Id, out _);
        }
    }

    private async Task RunAggregationAsync(
        SessionResponse session, double[] input, double? weight, Ed25519KeyPair identity, HashSet<string> finished, string ledgerKey, PodInput? named, CancellationToken ct)
    {
        var stateFile = PartyState(session.Id);
        var verb = File.Exists(stateFile.Path) ? "resuming" : "joining";
        log($"session {session.Id}: {verb} ({session.Aggregation!.Operation} of '{session.Aggregation.Input}', {input.Length} values, modeller {session.ModellerId})");
        var driver = new SecureAggregationPodDriver(client, config.Tenant, session.Id, config.Pod, identity, _ => input, pins: _pins)
        {
            StateFile = stateFile,
            Verifier = ModellerCheck,
            Weight = weight is { } w ? _ => w : null,
            BeforeUnmask = (current, request) => Included(current, request, ledgerKey, named),
        };
        try
        {
            var final = await driver.RunAsync(ct);
            log($"session {session.Id}: {final.Phase}{(final.Aggregation?.FailureReason is { } r ? $" ({r})" : "")}{EndedBy(final)}");
            Leave(session.Id, driver.InputSent);
            MarkFinished(finished, session.Id);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The agent is stopping, not the session: the state file stays so that a restart resumes it.
        }
        catch (Exception ex)
        {
            // Failing, the pod tells the session at once, so the others need not wait for its deadline.
            var category = ex switch
            {
                InputRejectedException rejected => Category(rejected),
                PodPolicyRefusedException => DeclineCategories.Policy,
                UnverifiedSessionException => DeclineCategories.UnverifiedModeller,
                _ => DeclineCategories.Internal,
            };
            // A changed identity is a hard stop before any message: named as such in the log, never retried.
            log(ex is PinMismatchException ? $"session {session.Id}: stopped (identity pin mismatch): {ex.Message}" : $"session {session.Id}: stopped ({category}): {ex.Message}");
            Leave(session.Id, driver.InputSent);
            await DeclineAsync(session.Id, category, ct);
            MarkFinished(finished, session.Id);
        }
    }

    /// <summary>
    /// The pod is done with a session: its state file is wiped and deleted (the driver did so already; this covers every other
    /// way out), and the ledger forgets the session if the masked vector never left, since then no sum can hold the input.
    /// </summary>
    private void Leave(string sessionId, bool inputSent)
    {
        PartyState(sessionId).Delete();
        if (inputSent) return;
        try
        {
            _ledger.Forget(sessionId);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            log($"session {sessionId}: the differencing ledger keeps it ({ex.Message})"); // keeping is the safe side
        }
    }

    /// <summary>
    /// At start: wipes whatever secret state a crash left behind for sessions already finished (a party state or its temporary
    /// file, a federated member key or round ledger): deletion after the session ends must not depend on the agent surviving.
    /// </summary>
    private void SweepFinished(HashSet<string> finished)
    {
        var directory = StateDirectory;
        if (!Directory.Exists(directory)) return;
        foreach (var path in Directory.GetFiles(directory))
        {
            var name = Path.GetFileName(path);
            var session = name.EndsWith(".tmp", StringComparison.Ordinal) ? Path.GetFileNameWithoutExtension(name) : name;
            var extension = Path.GetExtension(session);
            if (extension is not (".party" or ".member" or ".rounds")) continue;
            if (!finished.Contains(Path.GetFileNameWithoutExtension(session))) continue;
            new PartyStateFile(Path.Combine(directory, session)).Delete(); // also its .tmp
            log($"session {Path.GetFileNameWithoutExtension(session)}: wiped leftover {extension} state of a finished session");
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
                Verifier = ModellerCheck,
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
            return await ModellerCheck.VerifyAsync(session, ct);
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
        : ModellerCheck.CancelledByModeller(session) ? " by the modeller (its signature of the cancel verified)"
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
