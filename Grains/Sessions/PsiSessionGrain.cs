using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Sessions.Legacy;
using Smpc.Grains.Storage;
using Smpc.Protocols.Coordination;
using Smpc.Protocols.PrivateSetIntersection;
using Step = Smpc.Protocols.Coordination.CoordinatorStep<Smpc.Protocols.PrivateSetIntersection.PsiExchangeState, Smpc.Protocols.PrivateSetIntersection.PsiEvent>;

namespace Smpc.Grains.Sessions;

/// <summary>
/// Private set intersection (DESIGN.md §3.4) as the service runs it, over <see cref="PsiCoordinator"/>: the grain checks
/// who calls (the pod uploads its set and reply, the modeller its query and double-blinded set), opens uploads with the
/// size and element rules the sets must meet, hands each step to the coordinator, stores what it decided, and deletes the
/// sets when the session ends.
/// </summary>
[GrainType("session-psi")]
public sealed class PsiSessionGrain(
    [PersistentState("psi", SmpcDatabase.GrainStorageName)] IPersistentState<PsiSessionState> state,
    TimeProvider time,
    IHostApplicationLifetime lifetime) : SessionGrainBase<PsiSessionState>(state, time, lifetime), IPsiSessionGrain
{
    private PsiCoordinator Coordinator => new(Rules(Session.Spec!));

    private PsiExchangeState Exchange => Session.Exchange;

    protected override DateTimeOffset? Deadline => Session.Spec is null ? null : Exchange.Deadline;

    protected override bool Handles(SessionKind kind) => kind == SessionKind.PrivateSetIntersection;

    protected override bool SameSession(CreateSession command) => CreateRules.SamePsiSpec(Session.Spec, command.Psi);

    protected override void Initialize(CreateSession command, DateTimeOffset now)
    {
        Session.Spec = CreateRules.PsiSpec(command.Psi);
        Session.Exchange = Coordinator.Start(now);
        Session.Phase = SessionPhase.AwaitingPod;
    }

    protected override void Import(LegacySessionState legacy)
    {
        var p = legacy.Psi ?? new LegacyPsiState();
        Session.Spec = p.Spec;
        Session.Exchange = new PsiExchangeState
        {
            Phase = Phase(legacy.Phase), Deadline = p.Deadline, Accepted = p.Accepted, PublicKey = p.PublicKey, CountedByPod = p.CountedByPod,
            ServerSetSize = p.ServerSetSize, QueryStored = p.QueryStored, ReplyStored = p.ReplyStored, DoubleBlindedStored = p.DoubleBlindedStored,
            PodCount = p.PodCount, ReportedCount = p.ReportedCount, FailureReason = p.FailureReason,
        };
    }

    protected override void OnCancelled() => Session.Exchange = Exchange with { Phase = PsiPhase.Cancelled, Deadline = null };

    /// <summary>Stored sets are deleted once the session is cancelled.</summary>
    protected override Task AfterCancelAsync(Caller caller, string? reason, bool repeated) => repeated ? Task.CompletedTask : DeletePsiPayloadsAsync();

    protected override SessionInfo Describe(SessionInfo common)
    {
        if (Session.Spec is not { } spec) return common;
        var p = Exchange;
        return common with
        {
            Psi = new PsiStatus(spec, p.Deadline, p.PublicKey, p.Accepted, p.CountedByPod, p.ServerSetSize, p.QueryStored, p.ReplyStored, p.DoubleBlindedStored,
                p.PodCount, p.ReportedCount, p.FailureReason, p.KeyProof, p.SealedCount, PsiCoordinator.Stored(p, PsiSet.PodSet)),
        };
    }

    async Task<SessionInfo> IPsiSessionGrain.AcceptPsiAsync(Caller caller, PsiAccept accept)
    {
        _ = PartyOf(caller);
        await AdvanceIfDueAsync();
        using var activity = PsiSpan("psi.accept");
        await ApplyAsync(Coordinator.Accept(Exchange, accept.PublicKey, accept.CountedByPod, accept.KeyProof, accept.Version), "psi.accept", caller);
        return ToInfo();
    }

    async Task<SessionInfo> IPsiSessionGrain.DeclinePsiAsync(Caller caller, string reason)
    {
        _ = PartyOf(caller);
        await AdvanceIfDueAsync();
        using var activity = PsiSpan("psi.decline");
        await ApplyAsync(Coordinator.Decline(Exchange, reason), "psi.fail", caller);
        return ToInfo();
    }

    async Task<PsiUpload> IPsiSessionGrain.BeginPsiUploadAsync(Caller caller, PsiPayload payload)
    {
        RequireUploader(caller, payload);
        await AdvanceIfDueAsync();
        Refuse(Coordinator.CheckUploadOpen(Exchange, Set(payload)));
        var rules = UploadRules(payload);
        var key = PsiPayloadKey(payload);
        var uploadId = await GrainFactory.GetPayload(key).BeginAsync(rules);
        return new PsiUpload(key.ToString(), uploadId, rules.ChunkBytes, rules.ExactLength > 0 ? rules.ExactLength : rules.MaxLength, rules.ElementBytes);
    }

    async Task<SessionInfo> IPsiSessionGrain.CommitPsiUploadAsync(Caller caller, PsiPayload payload, bool empty)
    {
        RequireUploader(caller, payload);
        await AdvanceIfDueAsync();
        var set = Set(payload);
        Refuse(Coordinator.CheckUpload(Exchange, set));
        if (PsiCoordinator.Stored(Exchange, set)) return ToInfo(); // a retry: the payload grain already refused different bytes
        var bytes = empty ? 0 : (await GrainFactory.GetPayload(PsiPayloadKey(payload)).GetManifestAsync()).Length;
        long? elements = empty ? null : Coordinator.Elements(set, bytes);
        using var activity = PsiSpan($"psi.{PsiCoordinator.Describe(set).Replace(' ', '_')}.store");
        activity?.SetTag(SmpcTelemetry.ElementsAttribute, elements ?? 0);
        activity?.SetTag(SmpcTelemetry.BytesAttribute, bytes);
        var step = Coordinator.CommitUpload(Exchange, set, elements);
        await ApplyAsync(step, "psi.upload", caller);
        if (step.Changed) SmpcTelemetry.PsiPayloadBytes.Add(bytes, PayloadTag(set), ProtocolTag);
        return ToInfo();
    }

    async Task<string?> IPsiSessionGrain.GetPsiPayloadAsync(Caller caller, PsiPayload payload)
    {
        var receiver = payload is PsiPayload.ServerSet or PsiPayload.Reply ? CallerRole.Modeller : CallerRole.Pod;
        if (receiver == CallerRole.Modeller) RequireModeller(caller); else _ = PartyOf(caller);
        await AdvanceIfDueAsync();
        Refuse(Coordinator.CheckDownload(Exchange, Set(payload), out var empty));
        return empty ? null : PsiPayloadKey(payload).ToString();
    }

    async Task<SessionInfo> IPsiSessionGrain.ReportPsiCountAsync(Caller caller, long count)
    {
        _ = PartyOf(caller);
        await AdvanceIfDueAsync();
        using var activity = PsiSpan("psi.count");
        await ApplyAsync(Coordinator.ReportCount(Exchange, count), "psi.count", caller);
        return ToInfo();
    }

    async Task<SessionInfo> IPsiSessionGrain.ReportSealedPsiCountAsync(Caller caller, byte[] sealedCount)
    {
        _ = PartyOf(caller);
        await AdvanceIfDueAsync();
        using var activity = PsiSpan("psi.count");
        await ApplyAsync(Coordinator.ReportSealedCount(Exchange, sealedCount), "psi.count", caller);
        return ToInfo();
    }

    async Task<SessionInfo> IPsiSessionGrain.CompletePsiAsync(Caller caller, long? count)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        using var activity = PsiSpan("psi.complete");
        await ApplyAsync(Coordinator.Complete(Exchange, count), "psi.complete", caller);
        return ToInfo();
    }

    protected override Task AdvanceIfDueAsync() =>
        Session.Spec is null || Exchange.Deadline is not { } deadline || Time.GetUtcNow() < deadline
            ? Task.CompletedTask
            : ApplyAsync(Coordinator.AdvanceIfDue(Exchange, Time.GetUtcNow()), "psi.fail", null);

    /// <summary>Stores what the coordinator decided, saves, then measures, audits and deletes the sets of an ended session.</summary>
    private async Task ApplyAsync(Step step, string operation, Caller? caller)
    {
        Refuse(step.Refusal);
        if (!step.Changed) return;
        Session.Exchange = step.State;
        Session.Phase = Phase(step.State.Phase);
        var audit = new List<(string Type, string? Detail)>();
        var ended = false;
        foreach (var e in step.Events)
        {
            switch (e)
            {
                case PsiEvent.Accepted accepted:
                    audit.Add((AuditEventTypes.SessionJoined, $"{caller?.Subject} {accepted.Detail}"));
                    break;
                case PsiEvent.SetStored stored:
                    SmpcTelemetry.PsiElements.Add(stored.Elements, PayloadTag(stored.Set), ProtocolTag);
                    break;
                case PsiEvent.PodCounted:
                    audit.Add((AuditEventTypes.PsiCountReported, "the pod reported the intersection size"));
                    break;
                case PsiEvent.Completed completed:
                    if (completed.ModellerCounted) audit.Add((AuditEventTypes.PsiCountReported, "the modeller recorded the intersection size"));
                    audit.Add((AuditEventTypes.SessionCompleted, null));
                    ended = true;
                    break;
                case PsiEvent.Failed failed:
                    if (failed.Declined is { } reason) audit.Add((AuditEventTypes.PolicyDeclined, reason));
                    audit.Add((AuditEventTypes.SessionFailed, failed.Reason));
                    ended = true;
                    break;
            }
        }

        await SaveAsync(operation);
        // A failed session's sets go before its audit entries, a completed one's after (as each step always did).
        if (ended && Session.Phase == SessionPhase.Failed) await DeletePsiPayloadsAsync();
        if (audit.Count > 0) await AuditAsync(caller, [.. audit]);
        if (ended && Session.Phase == SessionPhase.Completed) await DeletePsiPayloadsAsync();
    }

    /// <summary>Once a session ends its sets are of no use to anyone: delete them (best effort; a later retry of the end deletes again).</summary>
    private async Task DeletePsiPayloadsAsync()
    {
        foreach (var payload in Enum.GetValues<PsiPayload>())
        {
            try
            {
                await GrainFactory.GetPayload(PsiPayloadKey(payload)).DeleteAsync();
            }
            catch (Exception)
            {
                // Best effort; a storage failure was counted by the payload grain.
            }
        }
    }

    private void RequireUploader(Caller caller, PsiPayload payload)
    {
        if (payload is PsiPayload.ServerSet or PsiPayload.Reply) _ = PartyOf(caller);
        else if (payload is PsiPayload.Query or PsiPayload.DoubleBlinded) RequireModeller(caller);
        else throw SmpcException.Invalid("Unknown PSI payload.");
    }

    private PayloadConstraints UploadRules(PsiPayload payload)
    {
        var spec = Session.Spec!;
        var rsa = spec.Protocol == PsiProtocols.RsaBlind;
        var size = Coordinator.ElementBytes(Set(payload));
        var chunk = PayloadChunkBytes(size);
        if (spec.Protocol == PsiProtocols.Kkrt)
        {
            // Lengths only: the parties check every element (base-OT points, rows, tag order); the service cannot.
            return Coordinator.ExactBytes(Set(payload)) is { } exact
                ? new PayloadConstraints(exact, chunk, null, size)
                : new PayloadConstraints(0, chunk, null, size, PayloadElementCheck.None, null, CreateRules.MaxPsiSetElements * size);
        }

        var check = payload switch
        {
            PsiPayload.Query or PsiPayload.Reply => rsa ? PayloadElementCheck.RsaBelowModulus : PayloadElementCheck.Ristretto255,
            _ => PayloadElementCheck.None, // the modeller's client validates every element of the pod's set it uses
        };
        var modulus = check == PayloadElementCheck.RsaBelowModulus ? RsaPsiPublicKey.Parse(Exchange.PublicKey).Modulus : null;
        return payload switch
        {
            PsiPayload.ServerSet => new PayloadConstraints(0, chunk, null, size, check, null, CreateRules.MaxPsiSetElements * size),
            PsiPayload.Query or PsiPayload.Reply => new PayloadConstraints(spec.ModellerSetSize * size, chunk, null, size, check, modulus),
            _ => new PayloadConstraints(Exchange.ServerSetSize!.Value * size, chunk, null, size, check),
        };
    }

    /// <summary>Chunks of about 1 MiB holding whole elements.</summary>
    private static int PayloadChunkBytes(int elementBytes) => (1 << 20) / elementBytes * elementBytes;

    private PayloadKey PsiPayloadKey(PsiPayload payload) => new(Key, payload switch
    {
        PsiPayload.ServerSet => "psi-server-set",
        PsiPayload.Query => "psi-query",
        PsiPayload.Reply => "psi-reply",
        _ => "psi-double-blinded",
    });

    /// <summary>A PSI step's span: a child of the session's trace (linked to the request that triggered it), like every party's spans.</summary>
    private Activity? PsiSpan(string name)
    {
        var activity = SessionSpan(name);
        activity?.SetTag("smpc.psi.protocol", Session.Spec?.Protocol);
        return activity;
    }

    private static KeyValuePair<string, object?> PayloadTag(PsiSet set) => new("smpc.psi.payload", PsiCoordinator.Describe(set));

    private KeyValuePair<string, object?> ProtocolTag => new("smpc.psi.protocol", Session.Spec?.Protocol);

    private static PsiSessionRules Rules(PsiSpec spec) => new(spec.Protocol, spec.Protocol == PsiProtocols.RsaBlind, spec.Mode == PsiModes.Cardinality,
        spec.ModellerSetSize, spec.KeyBits, spec.Timeout, spec.Version);

    private static PsiSet Set(PsiPayload payload) => payload switch
    {
        PsiPayload.ServerSet => PsiSet.PodSet,
        PsiPayload.Query => PsiSet.Query,
        PsiPayload.Reply => PsiSet.Reply,
        PsiPayload.DoubleBlinded => PsiSet.DoubleBlinded,
        _ => throw SmpcException.Invalid("Unknown PSI payload."),
    };

    private static void Refuse(Refusal? refusal)
    {
        if (refusal is not null) throw refusal.ToException();
    }

    private static SessionPhase Phase(PsiPhase phase) => phase switch
    {
        PsiPhase.AwaitingPod => SessionPhase.AwaitingPod,
        PsiPhase.Exchange => SessionPhase.Exchange,
        PsiPhase.Answered => SessionPhase.Answered,
        PsiPhase.Completed => SessionPhase.Completed,
        PsiPhase.Failed => SessionPhase.Failed,
        _ => SessionPhase.Cancelled,
    };

    private static PsiPhase Phase(SessionPhase phase) => phase switch
    {
        SessionPhase.AwaitingPod => PsiPhase.AwaitingPod,
        SessionPhase.Exchange => PsiPhase.Exchange,
        SessionPhase.Answered => PsiPhase.Answered,
        SessionPhase.Completed => PsiPhase.Completed,
        SessionPhase.Failed => PsiPhase.Failed,
        _ => PsiPhase.Cancelled,
    };
}
