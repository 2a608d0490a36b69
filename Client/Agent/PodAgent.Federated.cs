using System.Collections.Concurrent;
using Smpc.Client.Contracts;
using Smpc.Client.Federated;
using Smpc.Protocols.Crypto;

namespace Smpc.Client.Agent;

/// <summary>The pod agent's part in federated query and training sessions: prepare under policy, join the channel, serve each round.</summary>
public sealed partial class PodAgent
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<(IFederatedParticipant Participant, FederatedMember Member)?>> _federated = new();

    /// <summary>Trainers this agent can run: the built-in ones plus any added by the host.</summary>
    public Smpc.Client.Training.TrainerRegistry Trainers { get; init; } = Smpc.Client.Training.Trainers.Builtin;

    private async Task RunFederatedAsync(SessionResponse session, Ed25519KeyPair identity, HashSet<string> finished, CancellationToken ct)
    {
        var ready = _federated.GetOrAdd(session.Id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
        IFederatedParticipant? participant = null;
        FederatedMember? member = null;
        try
        {
            if (session.Phase != SessionPhases.Running)
            {
                MarkFinished(finished, session.Id);
                return;
            }

            participant = session.Kind == SessionKinds.Query
                ? new QueryParticipant(config, baseDirectory, log)
                : new TrainingParticipant(config, Trainers, baseDirectory, log);
            var refusal = await participant.PrepareAsync(session, ct);
            if (refusal is not null)
            {
                log($"session {session.Id}: declined ({refusal})");
                await DeclineAsync(session, refusal, ct);
                MarkFinished(finished, session.Id);
                return;
            }

            member = FederatedMember.LoadOrCreate(client, config.Tenant, session.Id, config.Pod, Path.GetDirectoryName(_statePath)!);
            await member.PublishAsync(identity, ct);
            log($"session {session.Id}: joined ({session.Kind} for modeller {session.ModellerId})");
            ready.TrySetResult((participant, member));

            // Serve rounds until the modeller finishes (or a pod declines).
            var current = session;
            while (current.Phase == SessionPhases.Running)
                current = await Transient.RetryAsync(() => client.WaitForSessionChangeAsync(config.Tenant, session.Id, current.Version, LongPollSeconds, ct), ct);
            log($"session {session.Id}: {current.Phase}{(current.Federated?.FailureReason is { } r ? $" ({r})" : "")}");
            member.Forget();
            MarkFinished(finished, session.Id);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            log($"session {session.Id}: stopped: {ex.Message}");
            MarkFinished(finished, session.Id);
        }
        finally
        {
            ready.TrySetResult(null);
            _federated.TryRemove(session.Id, out _);
            participant?.Dispose();
            member?.Dispose();
            _running.TryRemove(session.Id, out _);
        }
    }

    private async Task RunRoundAsync(SessionResponse round, Ed25519KeyPair identity, HashSet<string> finished, CancellationToken ct)
    {
        try
        {
            if (round.Phase is SessionPhases.Completed or SessionPhases.Failed)
            {
                MarkFinished(finished, round.Id);
                return;
            }

            var joined = _federated.TryGetValue(round.Parent!, out var ready) ? await ready.Task : null;
            if (joined is not { } f)
            {
                log($"session {round.Id}: not joining (this pod is not taking part in session {round.Parent})");
                MarkFinished(finished, round.Id);
                return;
            }

            double[] input;
            try
            {
                input = await f.Participant.InputAsync(round, f.Member, ct);
            }
            catch (FederatedRefusalException refusal)
            {
                log($"session {round.Parent}: declined in round {round.Aggregation?.Input} ({refusal.Message})");
                await DeclineAsync(await client.GetSessionAsync(config.Tenant, round.Parent!, ct), refusal.Message, ct);
                MarkFinished(finished, round.Id);
                return;
            }

            await RunAggregationAsync(round, input, identity, finished, ct);
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
            _running.TryRemove(round.Id, out _);
        }
    }

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
    }
}

/// <summary>A pod's part in one federated session: the policy check and preparation, then the vector for each round.</summary>
public interface IFederatedParticipant : IDisposable
{
    /// <summary>Checks the session against the pod's policy and prepares (runs the query, loads the data); a reason to decline, or null.</summary>
    Task<string?> PrepareAsync(SessionResponse session, CancellationToken ct);

    /// <summary>The pod's vector for one round; throws <see cref="FederatedRefusalException"/> when the pod will not contribute.</summary>
    Task<double[]> InputAsync(SessionResponse round, FederatedMember member, CancellationToken ct);
}

/// <summary>The pod refuses a round of a federated session; the message is its reason, which the modeller reads.</summary>
public sealed class FederatedRefusalException(string reason) : Exception(reason);
