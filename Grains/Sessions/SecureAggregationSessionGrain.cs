using System.Collections.Immutable;
using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Payloads;
using Smpc.Grains.Sessions.Legacy;
using Smpc.Grains.Storage;
using Smpc.Protocols.Coordination;
using Smpc.Protocols.SecureAggregation;
using Step = Smpc.Protocols.Coordination.CoordinatorStep<Smpc.Protocols.SecureAggregation.SecureAggregationRoundState, Smpc.Protocols.SecureAggregation.SecureAggregationEvent>;

namespace Smpc.Grains.Sessions;

/// <summary>
/// Secure aggregation (DESIGN.md §3.1) as the service runs it, over <see cref="SecureAggregationCoordinator"/>: the grain
/// checks who calls, hands each message to the coordinator with the clock, stores what it decided, keeps the bytes the
/// coordinator only counts (share envelopes, masked vectors, the masked sum), sums the survivors' vectors when told, and
/// audits. A round of a federated session joins its parent when created.
/// </summary>
/// <remarks>
/// The masked sum runs outside the turn that fixed the survivors: that turn opens the sum's upload and saves, and the grain
/// then sends itself one <see cref="ISecureAggregationSumSteps"/> message per chunk, so no call waits for the whole sum and
/// other calls (long polls, declines, cancel) are served between chunks. After a restart the loop resumes from the chunks
/// the sum's payload already holds.
/// </remarks>
[GrainType("session-secagg")]
public sealed class SecureAggregationSessionGrain(
    [PersistentState("secagg", SmpcDatabase.GrainStorageName)] IPersistentState<SecureAggregationSessionState> state,
    TimeProvider time,
    IHostApplicationLifetime lifetime) : SessionGrainBase<SecureAggregationSessionState>(state, time, lifetime), ISecureAggregationSessionGrain, ISecureAggregationSumSteps
{
    private const string MaskedSumName = "masked-sum";

    /// <summary>How long the sum waits before trying again after a step failed (storage is probably down).</summary>
    private static readonly TimeSpan SumRetryDelay = TimeSpan.FromSeconds(2);

    private SecureAggregationCoordinator? _coordinator;

    // The sum's progress in memory: the upload it writes, its next chunk and the running SHA-256 of the chunks written
    // (null after a restart: the payload grain then hashes the stored sum when it is sealed).
    private Guid? _sumUpload;
    private int _sumNextChunk;
    private IncrementalHash? _sumHash;
    private Activity? _sumSpan;
    private bool _sumStepSent;
    private IGrainTimer? _sumRetry;

    private string ProtocolSessionId => Key.ToString();

    private SecureAggregationRoundState Round => Session.Round;

    private SecureAggregationCoordinator Coordinator => _coordinator ??= new(Parameters(), Session.PodIds, Timeouts(Session.Spec!));

    protected override DateTimeOffset? Deadline => Round.Deadline;

    protected override bool Handles(SessionKind kind) => kind == SessionKind.SecureAggregation;

    protected override bool SameSession(CreateSession command) => CreateRules.SameAggregationSpec(Session.Spec, command.Aggregation);

    protected override void Initialize(CreateSession command, DateTimeOffset now)
    {
        Session.Spec = command.Aggregation;
        Session.Threshold = CreateRules.AggregationThreshold(command.Aggregation, Session.PodIds.Count);
        _coordinator = null;
        Session.Round = Coordinator.Start(now);
        Session.Phase = SessionPhase.KeyExchange;
    }

    protected override void Import(LegacySessionState legacy)
    {
        var a = legacy.Aggregation ?? new LegacyAggregationState();
        Session.Spec = a.Spec;
        Session.Threshold = a.Threshold;
        Session.Envelopes = a.Envelopes;
        Session.MaskedSumPayload = a.MaskedSumPayload;
        Session.Round = new SecureAggregationRoundState
        {
            Phase = Phase(legacy.Phase),
            Deadline = a.Deadline,
            KeyBundles = a.KeyBundles.ToImmutableSortedDictionary(),
            Envelopes = a.Envelopes.ToImmutableSortedDictionary(e => e.Key, e => SecureAggregationCoordinator.Digest(e.Value)),
            MaskedInputs = [.. a.MaskedInputs],
            Responses = a.Responses.ToImmutableSortedDictionary(),
            Dropped = [.. a.Dropped],
            Declined = a.Declined.ToImmutableSortedDictionary(),
            KeyHolders = a.KeyHolders is { } u1 ? [.. u1] : null,
            ShareSenders = a.ShareSenders is { } u2 ? [.. u2] : null,
            Survivors = a.Survivors is { } u3 ? [.. u3] : null,
            UnmaskRequest = a.UnmaskRequest,
            Included = a.Included is { } included ? [.. included] : null,
            FailureReason = a.FailureReason,
        };
    }

    protected override void Reloaded() => _coordinator = null;

    /// <summary>A session whose sum a restart interrupted resumes it.</summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await base.OnActivateAsync(cancellationToken);
        SendSumStep();
    }

    protected override void OnCancelled() => Session.Round = Session.Round with { Phase = SecureAggregationPhase.Cancelled, Deadline = null };

    protected override SessionInfo Describe(SessionInfo common)
    {
        if (Session.Spec is null) return common;
        var r = Round;
        return common with
        {
            Aggregation = new AggregationStatus(ProtocolSessionId, Session.Threshold, Session.Spec, r.Deadline, [.. r.KeyBundles.Keys], [.. r.Envelopes.Keys],
                [.. r.MaskedInputs], [.. r.Responses.Keys], [.. r.Dropped], r.Included is { } included ? [.. included] : null, r.FailureReason,
                new Dictionary<int, string>(r.Declined)),
        };
    }

    /// <summary>A round joins its federated parent before it is acknowledged.</summary>
    protected override async Task BeforeCreateAsync(Caller caller, CreateSession command, IReadOnlyList<string> pods)
    {
        if (command.Parent is null) return;
        var parent = new EntityKey(Key.Tenant, command.Parent);
        await SessionKindGuard.CallAsync(GrainFactory, parent, caller, "federated query or training",
            () => GrainFactory.GetFederatedSession(parent).AddRoundAsync(caller, command.Aggregation?.Input ?? "", Key.Id, pods),
            SessionKind.FederatedQuery, SessionKind.FederatedTraining);
    }

    async Task<SessionInfo> ISecureAggregationSessionGrain.SubmitKeyBundleAsync(Caller caller, byte[] bundle)
    {
        var party = PartyOf(caller);
        await AdvanceIfDueAsync();
        using var activity = Span("secagg.keys.accept", party);
        var registered = await GrainFactory.GetPod(new EntityKey(Key.Tenant, caller.Subject!)).GetAsync(caller);
        await ApplyAsync(Coordinator.SubmitKeyBundle(Round, party, bundle, registered.IdentityPublicKey, Time.GetUtcNow()), "secagg.keys", caller);
        return ToInfo();
    }

    Task<IReadOnlyList<byte[]>> ISecureAggregationSessionGrain.GetKeyBundlesAsync(Caller caller) => ReadAsync<IReadOnlyList<byte[]>>(caller, () =>
    {
        Refuse(Coordinator.CheckKeyBundlesReleased(Round));
        return [.. Round.KeyBundles.Values];
    });

    async Task<SessionInfo> ISecureAggregationSessionGrain.SubmitShareEnvelopesAsync(Caller caller, IReadOnlyList<byte[]> envelopes)
    {
        var party = PartyOf(caller);
        await AdvanceIfDueAsync();
        using var activity = Span("secagg.shares.accept", party);
        await ApplyAsync(Coordinator.SubmitShareEnvelopes(Round, party, envelopes, Time.GetUtcNow()), "secagg.shares", caller, envelopes);
        return ToInfo();
    }

    async Task<IReadOnlyList<byte[]>> ISecureAggregationSessionGrain.GetShareEnvelopesAsync(Caller caller)
    {
        var party = PartyOf(caller);
        var senders = await ReadAsync(caller, () =>
        {
            Refuse(Coordinator.CheckEnvelopesReleased(Round, party, out var senders));
            return senders;
        });
        // A round imported with its envelopes in state past the share exchange has no per-recipient payloads.
        if (Session.Envelopes.Count > 0 && senders.All(Session.Envelopes.ContainsKey))
            return [.. senders.Select(sender => Session.Envelopes[sender].Single(e => ShareEnvelope.Parse(e).To == party))];
        return await PayloadFraming.ReadAsync(GrainFactory.GetPayload(SharesTo(party)));
    }

    async Task<MaskedUpload> ISecureAggregationSessionGrain.BeginMaskedInputAsync(Caller caller)
    {
        var party = PartyOf(caller);
        await AdvanceIfDueAsync();
        Refuse(Coordinator.CheckMaskedUpload(Round, party));
        var parameters = Parameters();
        var chunkBytes = parameters.ChunkElements * sizeof(ulong);
        var total = Coordinator.MaskedVectorBytes;
        var payload = MaskedPayload(party);
        var uploadId = await GrainFactory.GetPayload(payload).BeginAsync(new PayloadConstraints(total, chunkBytes, parameters.Field.Modulus));
        return new MaskedUpload(payload.ToString(), uploadId, chunkBytes, total);
    }

    async Task<SessionInfo> ISecureAggregationSessionGrain.CommitMaskedInputAsync(Caller caller)
    {
        var party = PartyOf(caller);
        await AdvanceIfDueAsync();
        Refuse(Coordinator.CheckMaskedInput(Round, party));
        if (Round.MaskedInputs.Contains(party)) return ToInfo(); // the payload grain already refused different bytes
        using var activity = Span("secagg.masked.accept", party);
        var manifest = await GrainFactory.GetPayload(MaskedPayload(party)).GetManifestAsync();
        await ApplyAsync(Coordinator.CommitMaskedInput(Round, party, manifest.Length, Time.GetUtcNow()), "secagg.masked", caller);
        return ToInfo();
    }

    Task<byte[]> ISecureAggregationSessionGrain.GetUnmaskRequestAsync(Caller caller) => ReadAsync(caller, () =>
    {
        Refuse(Coordinator.CheckUnmaskRequest(Round, caller.Role == CallerRole.Pod ? Session.PodIds.IndexOf(caller.Subject!) + 1 : null));
        return Round.UnmaskRequest!;
    });

    async Task<SessionInfo> ISecureAggregationSessionGrain.SubmitUnmaskResponseAsync(Caller caller, byte[] response)
    {
        var party = PartyOf(caller);
        await AdvanceIfDueAsync();
        using var activity = Span("secagg.unmask.accept", party);
        await ApplyAsync(Coordinator.SubmitUnmaskResponse(Round, party, response, Time.GetUtcNow()), "secagg.unmask", caller);
        return ToInfo();
    }

    async Task<UnmaskMaterial> ISecureAggregationSessionGrain.GetUnmaskMaterialAsync(Caller caller)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        Refuse(Coordinator.CheckUnmaskMaterial(Round));
        return new UnmaskMaterial([.. Round.KeyBundles.Values], Round.UnmaskRequest!, [.. Round.Responses.Values], Session.MaskedSumPayload!);
    }

    async Task<SessionInfo> ISecureAggregationSessionGrain.CompleteAsync(Caller caller, IReadOnlyList<int> includedParties)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        await ApplyAsync(Coordinator.Complete(Round, includedParties), "secagg.complete", caller);
        return ToInfo();
    }

    async Task<SessionInfo> ISecureAggregationSessionGrain.DeclineAggregationAsync(Caller caller, string category)
    {
        var party = PartyOf(caller);
        await AdvanceIfDueAsync();
        using var activity = Span("secagg.decline", party);
        activity?.SetTag("smpc.decline.category", category);
        await ApplyAsync(Coordinator.Decline(Round, party, category, Time.GetUtcNow()), "secagg.decline", caller);
        return ToInfo();
    }

    /// <summary>Closes the open phase if its deadline has passed (see <see cref="SecureAggregationCoordinator.AdvanceIfDue"/>).</summary>
    protected override Task AdvanceIfDueAsync() =>
        Session.Spec is null || Round.Deadline is not { } deadline || Time.GetUtcNow() < deadline
            ? Task.CompletedTask
            : ApplyAsync(Coordinator.AdvanceIfDue(Round, Time.GetUtcNow()), "secagg.deadline", null);

    /// <summary>
    /// Stores what the coordinator decided: the round, the envelope bytes it accepted or withdrew, the masked sum it asked
    /// for; then saves, and audits what deserves it. A refusal becomes the caller's problem; a repeat changes nothing.
    /// </summary>
    private async Task ApplyAsync(Step step, string operation, Caller? caller, IReadOnlyList<byte[]>? envelopes = null)
    {
        Refuse(step.Refusal);
        if (!step.Changed) return;
        Session.Round = step.State;
        Session.Phase = Phase(step.State.Phase);
        var audit = new List<(string Type, string? Detail)>();
        foreach (var e in step.Events)
        {
            switch (e)
            {
                case SecureAggregationEvent.PhaseClosed { From: SecureAggregationPhase.ShareExchange, To: SecureAggregationPhase.MaskedInput }:
                    // U2 is fixed: each recipient's envelopes are gathered before U2 is saved, so nobody reads them half-built.
                    await RelayEnvelopesAsync(step.State.ShareSenders!.Value, step.State.KeyHolders!.Value);
                    break;
                case SecureAggregationEvent.KeyBundleAccepted accepted:
                    audit.Add((AuditEventTypes.SessionJoined, $"{caller?.Subject} published its key bundle (party {accepted.Party})"));
                    break;
                case SecureAggregationEvent.EnvelopesAccepted accepted:
                    await StoreEnvelopesAsync(accepted.Party, envelopes!);
                    break;
                case SecureAggregationEvent.EnvelopesWithdrawn withdrawn:
                    Session.Envelopes.Remove(withdrawn.Party);
                    break;
                case SecureAggregationEvent.SumSurvivors:
                    await BeginSumAsync();
                    break;
                case SecureAggregationEvent.PartyDeclined declined:
                    audit.Add((AuditEventTypes.PolicyDeclined, declined.Category));
                    break;
                case SecureAggregationEvent.RoundFailed failed:
                    audit.Add((AuditEventTypes.SessionFailed, failed.Reason));
                    break;
                case SecureAggregationEvent.RoundCompleted completed:
                    audit.Add((AuditEventTypes.SessionCompleted, $"result from parties {string.Join(", ", completed.Included)}"));
                    break;
            }
        }

        await SaveAsync(operation);
        if (audit.Count > 0) await AuditAsync(caller, [.. audit]);
        SendSumStep(); // U3 is durably fixed: the sum starts after this turn
    }

    /// <summary>
    /// Stores a sender's accepted envelopes as payload <c>shares-from-{i}</c>, in recipient order (the relay at the share
    /// exchange's close picks by rank, parsing nothing again); the coordinator keeps only their digest, so the session state
    /// stays small with 200 pods. Envelopes of a round imported with them in state stay there.
    /// </summary>
    private async Task StoreEnvelopesAsync(int party, IReadOnlyList<byte[]> envelopes)
    {
        var byRecipient = envelopes.OrderBy(e => ShareEnvelope.Parse(e).To).ToList();
        try
        {
            await PayloadFraming.WriteAsync(GrainFactory.GetPayload(SharesFrom(party)), byRecipient);
        }
        catch (SmpcException e) when (e.Code == SmpcErrorCode.Conflict)
        {
            throw SmpcException.Conflict($"Party {party} already sent other share envelopes.");
        }
    }

    /// <summary>
    /// Turns the senders' envelope payloads into one payload per recipient (<c>shares-to-{j}</c>): sender i stored its
    /// envelopes in recipient order over the key holders other than i, so the one for j is at j's rank among them. Reads
    /// and writes n payloads of n − 1 envelopes each, O(n²) bytes once; each pod then reads only its own.
    /// </summary>
    private async Task RelayEnvelopesAsync(IReadOnlyList<int> senders, IReadOnlyList<int> holders)
    {
        using var activity = SessionSpan("secagg.shares.relay");
        activity?.SetTag("smpc.parties", senders.Count);
        var rank = holders.Order().Select((holder, i) => (holder, i)).ToDictionary(h => h.holder, h => h.i);
        var sent = await Task.WhenAll(senders.Select(async sender => Session.Envelopes.TryGetValue(sender, out var imported)
            ? [.. imported.OrderBy(e => ShareEnvelope.Parse(e).To)]
            : await PayloadFraming.ReadAsync(GrainFactory.GetPayload(SharesFrom(sender)))));
        // j's rank among the holders other than i: its rank among all of them, less one if i comes before it. A recipient's
        // payload is replaced, not merely written: a close that failed half-way may be retried with another U2, and nobody
        // reads these payloads before U2 is durably fixed.
        await Task.WhenAll(senders.Select(async recipient =>
        {
            var payload = GrainFactory.GetPayload(SharesTo(recipient));
            await payload.DeleteAsync();
            await PayloadFraming.WriteAsync(payload, [.. senders.Select((sender, i) => (sender, i)).Where(s => s.sender != recipient)
                .Select(s => sent[s.i][rank[recipient] - (s.sender < recipient ? 1 : 0)])]);
        }));
        Session.Envelopes.Clear(); // an imported round's envelopes are in the recipients' payloads now
    }

    /// <summary>
    /// Opens the masked sum's upload in the turn that fixes U3, so the upload is saved with U3 and the sum, however often it
    /// is interrupted, writes into that one upload.
    /// </summary>
    private async Task BeginSumAsync()
    {
        var parameters = Parameters();
        var constraints = new PayloadConstraints(Coordinator.MaskedVectorBytes, parameters.ChunkElements * sizeof(ulong), parameters.Field.Modulus);
        Session.SumUploadId = await GrainFactory.GetPayload(SumKey).BeginAsync(constraints);
    }

    /// <summary>Sends the next step of the sum unless one is on its way or nothing is being summed.</summary>
    private void SendSumStep()
    {
        if (_sumStepSent || !Exists || !SecureAggregationCoordinator.IsSumming(Round) || Session.SumUploadId is null) return;
        _sumStepSent = true;
        // One-way: the task completes once the message is sent; the step runs as a turn of its own after this one.
        _ = this.AsReference<ISecureAggregationSumSteps>().SumNextChunkAsync();
    }

    /// <summary>
    /// One step of the masked sum mod q: chunk k of every survivor is added (<see cref="MaskedChunkSummer"/>) and sum chunk k
    /// written, so the silo holds a few chunks whatever the vector's length; after the last chunk the sum is sealed and the
    /// coordinator told, which opens unmasking.
    /// </summary>
    async Task ISecureAggregationSumSteps.SumNextChunkAsync()
    {
        _sumStepSent = false;
        if (!Exists || !SecureAggregationCoordinator.IsSumming(Round) || Session.SumUploadId is not { } upload)
        {
            EndSumSpan(); // cancelled (or already done) while a step was on its way
            return;
        }

        try
        {
            if (_sumUpload != upload) await ResumeSumAsync(upload);
            var parameters = Parameters();
            if (_sumNextChunk < parameters.ChunkCount)
            {
                await SumChunkAsync(parameters, upload, _sumNextChunk);
                _sumNextChunk++;
                SendSumStep();
                return;
            }

            await SealSumAsync(upload);
        }
        catch (Exception)
        {
            // Forget the progress (the next step resumes from what the payload holds) and try again shortly.
            _sumUpload = null;
            _sumRetry?.Dispose();
            _sumRetry = this.RegisterGrainTimer(() =>
            {
                SendSumStep();
                return Task.CompletedTask;
            }, new GrainTimerCreationOptions(SumRetryDelay, Timeout.InfiniteTimeSpan));
            throw;
        }
    }

    /// <summary>Takes up the sum's upload where the payload grain has it: after a restart, only the chunks not yet stored are summed.</summary>
    private async Task ResumeSumAsync(Guid upload)
    {
        var status = await GrainFactory.GetPayload(SumKey).GetUploadAsync(upload);
        _sumUpload = upload;
        _sumNextChunk = status.Completed ? Parameters().ChunkCount : status.ChunksStored;
        _sumHash?.Dispose();
        _sumHash = status.ChunksStored == 0 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        if (_sumSpan is null)
        {
            var trigger = Activity.Current;
            _sumSpan = SessionSpan("secagg.sum");
            _sumSpan?.SetTag("smpc.parties", Round.Survivors!.Value.Length);
            if (_sumNextChunk > 0) _sumSpan?.SetTag("smpc.sum.resumed_at_chunk", _sumNextChunk);
            Activity.Current = trigger; // the span lasts the whole sum, across turns; it is no turn's parent
        }
    }

    /// <summary>Adds chunk <paramref name="chunk"/> of every survivor and writes the sum chunk.</summary>
    private async Task SumChunkAsync(SessionParameters parameters, Guid upload, int chunk)
    {
        // Reads of one chunk index overlap a little (storage latency), bounded so that memory stays a few chunks.
        const int ReadsInFlight = 4;
        var survivors = Round.Survivors!.Value;
        var summer = MaskedChunkSummer.For(parameters, survivors, chunk);
        for (var first = 0; first < survivors.Length; first += ReadsInFlight)
        {
            var batch = survivors.Skip(first).Take(ReadsInFlight).ToList();
            var reads = batch.Select(party => GrainFactory.GetPayload(MaskedPayload(party)).ReadChunkAsync(chunk)).ToList();
            for (var i = 0; i < batch.Count; i++) summer.Add(batch[i], (await reads[i]).AsSpan());
        }

        var sum = summer.ToBytes();
        _sumHash?.AppendData(sum);
        await GrainFactory.GetPayload(SumKey).WriteChunkAsync(upload, chunk, sum);
    }

    /// <summary>Seals the sum's payload and tells the coordinator, which opens unmasking (saved and audited like any step).</summary>
    private async Task SealSumAsync(Guid upload)
    {
        var total = Coordinator.MaskedVectorBytes;
        var sumGrain = GrainFactory.GetPayload(SumKey);
        if (_sumHash is { } hash) await sumGrain.CompleteAsync(upload, total, Convert.ToHexStringLower(hash.GetHashAndReset()));
        else await sumGrain.CompleteHashingAsync(upload, total);
        Session.MaskedSumPayload = SumKey.ToString();
        await ApplyAsync(Coordinator.SumStored(Round, Time.GetUtcNow()), "secagg.sum", null);
        SmpcTelemetry.BytesRelayed.Add(total);
        EndSumSpan();
        using var activity = SessionSpan("secagg.survivors");
        activity?.SetTag("smpc.survivors", Round.Survivors!.Value.Length);
        activity?.SetTag("smpc.dropped", Round.Dropped.Count);
    }

    private void EndSumSpan()
    {
        _sumSpan?.Dispose();
        _sumSpan = null;
        _sumHash?.Dispose();
        _sumHash = null;
        _sumUpload = null;
    }

    /// <summary>Runs a read for the session's pods and modeller after applying any due deadline.</summary>
    private async Task<T> ReadAsync<T>(Caller caller, Func<T> read)
    {
        RequireVisible(caller);
        if (caller.Role == CallerRole.TenantAdmin) throw SmpcException.NotFound($"Session '{Key.Id}'");
        RefuseIfCancelled();
        await AdvanceIfDueAsync();
        return read();
    }

    private SessionParameters Parameters() => CreateRules.AggregationParameters(Session.Spec!, Session.PodIds.Count, ProtocolSessionId);

    private static SecureAggregationTimeouts Timeouts(AggregationSpec spec) => new(
        spec.TimeoutFor(SessionPhase.KeyExchange), spec.TimeoutFor(SessionPhase.ShareExchange), spec.TimeoutFor(SessionPhase.MaskedInput), spec.TimeoutFor(SessionPhase.Unmasking));

    private PayloadKey MaskedPayload(int party) => new(Key, $"masked-{party}");

    private PayloadKey SumKey => new(Key, MaskedSumName);

    private PayloadKey SharesFrom(int party) => new(Key, $"shares-from-{party}");

    private PayloadKey SharesTo(int party) => new(Key, $"shares-to-{party}");

    private Activity? Span(string name, int party)
    {
        var activity = SmpcTelemetry.Grains.StartActivity(name);
        activity?.SetTag(SmpcTelemetry.SessionAttribute, Key.Id);
        activity?.SetTag("smpc.party", party);
        return activity;
    }

    private static void Refuse(Refusal? refusal)
    {
        if (refusal is not null) throw refusal.ToException();
    }

    private static SessionPhase Phase(SecureAggregationPhase phase) => phase switch
    {
        SecureAggregationPhase.KeyExchange => SessionPhase.KeyExchange,
        SecureAggregationPhase.ShareExchange => SessionPhase.ShareExchange,
        SecureAggregationPhase.MaskedInput => SessionPhase.MaskedInput,
        SecureAggregationPhase.Unmasking => SessionPhase.Unmasking,
        SecureAggregationPhase.Completed => SessionPhase.Completed,
        SecureAggregationPhase.Failed => SessionPhase.Failed,
        _ => SessionPhase.Cancelled,
    };

    private static SecureAggregationPhase Phase(SessionPhase phase) => phase switch
    {
        SessionPhase.KeyExchange => SecureAggregationPhase.KeyExchange,
        SessionPhase.ShareExchange => SecureAggregationPhase.ShareExchange,
        SessionPhase.MaskedInput => SecureAggregationPhase.MaskedInput,
        SessionPhase.Unmasking => SecureAggregationPhase.Unmasking,
        SessionPhase.Completed => SecureAggregationPhase.Completed,
        SessionPhase.Failed => SecureAggregationPhase.Failed,
        _ => SecureAggregationPhase.Cancelled,
    };
}
