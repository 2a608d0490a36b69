using System.Collections.Concurrent;
using Smpc.Agent.Federated;
using Smpc.Agent.Query;
using Smpc.Agent.Training;
using Smpc.Client;
using Smpc.Client.Federated;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Federated.Training;

namespace Smpc.Agent;

/// <summary>The pod agent's part in federated query and training sessions: prepare under policy, join the channel, serve each round.</summary>
public sealed partial class PodAgent
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<FederatedJoin?>> _federated = new();

    /// <summary>Trainers this agent can run: the built-in ones plus any added by the host.</summary>
    public TrainerRegistry Trainers { get; init; } = Smpc.Protocols.Federated.Training.Trainers.Builtin;

    /// <summary>Starts taking part in a federated session unless already doing so; its rounds can wait on it at once.</summary>
    private void StartFederated(SessionResponse session, Ed25519KeyPair identity, HashSet<string> finished, CancellationToken ct)
    {
        lock (_federated)
        {
            if (_running.ContainsKey(session.Id) || _federated.ContainsKey(session.Id)) return;
            var ready = new TaskCompletionSource<FederatedJoin?>(TaskCreationOptions.RunContinuationsAsynchronously);
            _federated[session.Id] = ready;
            _running[session.Id] = Task.Run(() => RunFederatedAsync(session, ready, identity, finished, ct), CancellationToken.None);
        }
    }

    private async Task RunFederatedAsync(SessionResponse session, TaskCompletionSource<FederatedJoin?> ready, Ed25519KeyPair identity, HashSet<string> finished, CancellationToken ct)
    {
        IFederatedPodDriver? driver = null;
        FederatedPodChannel? channel = null;
        FederatedJoin? join = null;
        try
        {
            if (session.Phase != SessionPhases.Running)
            {
                MarkFinished(finished, session.Id);
                FederatedPodChannel.Discard(StateDirectory, session.Id);
                return;
            }

            if (await VerifyOrRefuseAsync(session, ct) is not { } modeller)
            {
                MarkFinished(finished, session.Id);
                FederatedPodChannel.Discard(StateDirectory, session.Id);
                return;
            }

            driver = session.Kind == SessionKinds.Query
                ? new QueryPodDriver(config, baseDirectory, log) { Modeller = modeller }
                : new TrainingPodDriver(config, Trainers, baseDirectory, log) { Modeller = modeller };
            var refusal = await driver.PrepareAsync(session, ct);
            if (refusal is not null)
            {
                log($"session {session.Id}: declined ({refusal})");
                await DeclineAsync(session, refusal, ct);
                MarkFinished(finished, session.Id);
                return;
            }

            channel = FederatedPodChannel.LoadOrCreate(client, config.Tenant, session.Id, config.Pod, StateDirectory, modeller);
            await channel.PublishAsync(identity, ct);
            log($"session {session.Id}: joined ({session.Kind} for modeller {session.ModellerId})");
            join = new FederatedJoin(driver, channel);
            (driver, channel) = (null, null); // the join owns them now
            ready.TrySetResult(join);

            // Serve rounds until the modeller finishes (or a pod declines).
            var current = session;
            while (current.Phase == SessionPhases.Running)
                current = await Transient.RetryAsync(() => client.WaitForSessionChangeAsync(config.Tenant, session.Id, current.Version, LongPollSeconds, ct), ct);
            log($"session {session.Id}: {current.Phase}{(current.Federated?.FailureReason is { } r ? $" ({r})" : "")}{EndedBy(current)}");
            join.Forget = true;
            MarkFinished(finished, session.Id);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (FederatedRefusalException refusal) when (join is null)
        {
            // No verified modeller key to hold the channel to (unverified-modeller): refuse by name before joining.
            log($"REFUSED session {session.Id}: {refusal.Message}. This pod sends nothing for the session.");
            await DeclineAsync(session, refusal.Message, CancellationToken.None);
            FederatedPodChannel.Discard(StateDirectory, session.Id);
            MarkFinished(finished, session.Id);
        }
        catch (Exception ex)
        {
            // Not a policy refusal (those decline above) but a local failure, e.g. the database is unreachable: say so, so
            // the modeller does not wait out the deadline for nothing.
            log($"session {session.Id}: stopped: {ex.Message}");
            await DeclineAsync(session, $"the pod agent failed: {ex.GetType().Name}", CancellationToken.None);
            if (join is not null) join.Forget = true;
            else FederatedPodChannel.Discard(StateDirectory, session.Id);
            MarkFinished(finished, session.Id);
        }
        finally
        {
            ready.TrySetResult(null);
            lock (_federated) _federated.TryRemove(session.Id, out _);
            driver?.Dispose();
            channel?.Dispose();
            join?.Release(); // disposes once the last round using it is done
            lock (_federated) _running.TryRemove(session.Id, out _);
        }
    }

    private async Task RunRoundAsync(SessionResponse round, Ed25519KeyPair identity, HashSet<string> finished, CancellationToken ct)
    {
        FederatedJoin? join = null;
        try
        {
            if (round.HasEnded())
            {
                MarkFinished(finished, round.Id);
                return;
            }

            // A round is signed like any session, by the parent's own modeller (another modeller cannot add rounds to it).
            if (await VerifyOrRefuseAsync(round, ct) is null)
            {
                MarkFinished(finished, round.Id);
                return;
            }

            var parent = await client.GetSessionAsync(config.Tenant, round.Parent!, ct);
            if (parent.ModellerId != round.ModellerId)
            {
                log($"REFUSED session {round.Id}: a round of session {parent.Id} (modeller {parent.ModellerId}) signed by modeller {round.ModellerId}. This pod sends nothing for it.");
                await DeclineAsync(round.Id, Protocols.SecureAggregation.DeclineCategories.UnverifiedModeller, ct);
                MarkFinished(finished, round.Id);
                return;
            }

            // The parent fell off the pod's session list (long training) or arrived later: take part in it first.
            if (!finished.Contains(parent.Id) && parent.Phase == SessionPhases.Running) StartFederated(parent, identity, finished, ct);

            join = _federated.TryGetValue(parent.Id, out var ready) ? await ready.Task : null;
            if (join is null || !join.TryAcquire())
            {
                join = null;
                log($"session {round.Id}: not joining (this pod is not taking part in session {round.Parent})");
                MarkFinished(finished, round.Id);
                return;
            }

            double[] input;
            try
            {
                var label = round.Aggregation!.Input;
                parent = await client.GetSessionAsync(config.Tenant, parent.Id, ct);
                await ModellerCheck.VerifyAsync(parent, ct); // the parent's spec as signed, not a rewritten one
                if (parent.Phase != SessionPhases.Running) throw new FederatedRefusalException($"session {parent.Id} is {parent.Phase}");
                if (!join.Channel.ClaimRound(label, round.Id))
                    throw new FederatedRefusalException($"round '{label}' already ran as session {join.Channel.Rounds()[label]}; a pod answers each round once");
                input = await join.Driver.InputAsync(round, parent, join.Channel, ct);
                // The same guard as plain sessions, keyed per training session or per query round (RoundLedgerKey).
                if (Differencing(round, RoundLedgerKey(parent, label), null) is { } differencing) throw new FederatedRefusalException(differencing);
            }
            catch (FederatedRefusalException refusal)
            {
                // A content key or release without the verified modeller's signature is a hard stop, said loudly.
                log(refusal.Message.StartsWith(Protocols.SecureAggregation.DeclineCategories.UnverifiedModeller, StringComparison.Ordinal)
                    ? $"REFUSED session {round.Parent}: round {round.Aggregation?.Input}: {refusal.Message}. This pod sends nothing more for the session."
                    : $"session {round.Parent}: refused round {round.Aggregation?.Input} ({refusal.Message})");
                await DeclineAsync(parent, refusal.Message, ct);
                MarkFinished(finished, round.Id);
                return;
            }

            await RunAggregationAsync(round, input, null, identity, finished, RoundLedgerKey(parent, round.Aggregation!.Input), null, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            log($"session {round.Id}: stopped: {ex.Message}");
            MarkFinished(finished, round.Id);
        }
        finally
        {
            join?.Release();
            _running.TryRemove(round.Id, out _);
        }
    }

    private string StateDirectory => Path.GetDirectoryName(_statePath)!;

    private async Task DeclineAsync(SessionResponse session, string reason, CancellationToken ct)
    {
        if (session.Phase != SessionPhases.Running) return;
        var text = reason.Length > 500 ? reason[..497] + "..." : reason;
        try
        {
            await client.DeclineFederatedAsync(config.Tenant, session.Id, text, ct);
        }
        catch (SmpcApiException ex) when (ex.Status == System.Net.HttpStatusCode.Conflict)
        {
            // Already ended (another pod declined, or the modeller finished): nothing to add.
        }
        catch (Exception ex) when (Transient.Is(ex, ct))
        {
            log($"session {session.Id}: could not decline ({ex.Message}); its deadline will end it");
        }
    }

    /// <summary>
    /// The pod's part in one federated session, shared by the session's task and its rounds' tasks: disposed (and its
    /// member key forgotten once the session ended) when the last of them lets go.
    /// </summary>
    private sealed class FederatedJoin(IFederatedPodDriver driver, FederatedPodChannel channel)
    {
        private int _holders = 1;

        public IFederatedPodDriver Driver { get; } = driver;

        public FederatedPodChannel Channel { get; } = channel;

        /// <summary>Set when the session has ended: the member key and round ledger are deleted at the last release.</summary>
        public bool Forget { get; set; }

        public bool TryAcquire()
        {
            while (true)
            {
                var holders = Volatile.Read(ref _holders);
                if (holders == 0) return false;
                if (Interlocked.CompareExchange(ref _holders, holders + 1, holders) == holders) return true;
            }
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref _holders) != 0) return;
            if (Forget) Channel.Forget();
            Driver.Dispose();
            Channel.Dispose();
        }
    }
}
