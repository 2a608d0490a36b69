using Microsoft.Extensions.Hosting;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Sessions.Legacy;
using Smpc.Grains.Storage;
using Smpc.Protocols;
using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Grains.Sessions;

/// <summary>
/// Private set intersection (DESIGN.md §3.4) as the service runs it: the pod accepts (publishing a fresh RSA public key for
/// rsa-blind), uploads its encoded set; the modeller uploads its blinded query; the pod uploads its reply (or, for
/// pod-counted cardinality, the modeller uploads the double-blinded set and the pod reports the count). The service checks
/// sizes and every query and reply element, stores only blinded or encoded elements, and deletes them when the session ends.
/// </summary>
[GrainType("session-psi")]
public sealed class PsiSessionGrain(
    [PersistentState("psi", SmpcDatabase.GrainStorageName)] IPersistentState<PsiSessionState> state,
    TimeProvider time,
    IHostApplicationLifetime lifetime) : SessionGrainBase<PsiSessionState>(state, time, lifetime), IPsiSessionGrain
{
    protected override DateTimeOffset? Deadline => Session.Psi.Deadline;

    protected override bool Handles(SessionKind kind) => kind == SessionKind.PrivateSetIntersection;

    protected override bool SameSession(CreateSession command) => CreateRules.SamePsiSpec(Session.Psi.Spec, command.Psi);

    protected override void Initialize(CreateSession command, DateTimeOffset now)
    {
        var spec = CreateRules.PsiSpec(command.Psi);
        Session.Psi = new PsiState { Spec = spec, Deadline = now + spec.Timeout };
        Session.Phase = SessionPhase.AwaitingPod;
    }

    protected override void Import(LegacySessionState legacy) => Session.Psi = legacy.Psi ?? new PsiState();

    protected override void OnCancelled() => Session.Psi.Deadline = null;

    /// <summary>Stored sets are deleted once the session is cancelled.</summary>
    protected override Task AfterCancelAsync(Caller caller, string? reason, bool repeated) => repeated ? Task.CompletedTask : DeletePsiPayloadsAsync();

    private PsiState Psi => Session.Psi;

    private bool IsRsa => Psi.Spec!.Protocol == PsiProtocols.RsaBlind;

    protected override SessionInfo Describe(SessionInfo common)
    {
        if (Session.Psi is not { Spec: not null } p) return common;
        return common with { Psi = new PsiStatus(p.Spec, p.Deadline, p.PublicKey, p.Accepted, p.CountedByPod, p.ServerSetSize, p.QueryStored, p.ReplyStored, p.DoubleBlindedStored,
            p.PodCount, p.ReportedCount, p.FailureReason) };
    }

    async Task<SessionInfo> IPsiSessionGrain.AcceptPsiAsync(Caller caller, PsiAccept accept)
    {
        PsiPod(caller);
        await AdvanceIfDueAsync();
        var p = Psi;
        if (p.Accepted)
        {
            if (p.CountedByPod == accept.CountedByPod && (p.PublicKey ?? []).AsSpan().SequenceEqual(accept.PublicKey ?? [])) return ToInfo();
            throw SmpcException.Conflict("The pod already accepted this session differently.");
        }

        RequirePsiPhase(SessionPhase.AwaitingPod);
        using var activity = PsiSpan("psi.accept");
        if (IsRsa)
        {
            if (accept.PublicKey is null) throw SmpcException.Invalid("An rsa-blind session needs the pod's RSA public key.");
            RsaPsiPublicKey key;
            try
            {
                key = RsaPsiPublicKey.Parse(accept.PublicKey);
            }
            catch (ProtocolException ex)
            {
                throw SmpcException.Invalid($"Malformed RSA public key: {ex.Message}");
            }

            if (key.ModulusBytes * 8 != p.Spec!.KeyBits || (key.Modulus[0] & 0x80) == 0)
                throw SmpcException.Invalid($"The session asks for a {p.Spec.KeyBits}-bit RSA key.");
        }
        else if (accept.PublicKey is not null)
        {
            throw SmpcException.Invalid("An ecdh session has no public key to publish.");
        }

        if (accept.CountedByPod && (IsRsa || p.Spec!.Mode != PsiModes.Cardinality))
            throw SmpcException.Invalid("Only ecdh cardinality sessions can be counted by the pod.");
        p.Accepted = true;
        p.PublicKey = accept.PublicKey;
        p.CountedByPod = accept.CountedByPod;
        Session.Phase = SessionPhase.Exchange;
        if (p.Spec!.ModellerSetSize == 0)
        {
            p.QueryStored = true;
            p.ReplyStored = true;
        }

        await SaveAsync("psi.accept");
        await AuditJoinedAsync(caller, $"accepted the session ({p.Spec!.Protocol}{(p.CountedByPod ? ", counted by the pod" : "")})");
        return ToInfo();
    }

    async Task<SessionInfo> IPsiSessionGrain.DeclinePsiAsync(Caller caller, string reason)
    {
        PsiPod(caller);
        await AdvanceIfDueAsync();
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > 500) throw SmpcException.Invalid("A reason of 1 to 500 characters is needed.");
        var p = Psi;
        var failure = $"The pod declined: {reason.Trim()}";
        if (Session.Phase == SessionPhase.Failed && p.FailureReason == failure) return ToInfo();
        if (Session.Phase is SessionPhase.Completed or SessionPhase.Failed or SessionPhase.Answered)
            throw SmpcException.WrongPhase($"The session is already {Session.Phase}.");
        using var activity = PsiSpan("psi.decline");
        await FailPsiAsync(failure);
        await AuditDeclinedAsync(caller, reason.Trim(), failure);
        return ToInfo();
    }

    async Task<PsiUpload> IPsiSessionGrain.BeginPsiUploadAsync(Caller caller, PsiPayload payload)
    {
        RequireUploader(caller, payload);
        await AdvanceIfDueAsync();
        RequireUploadable(payload);
        var rules = UploadRules(payload);
        var key = PsiPayloadKey(payload);
        var uploadId = await GrainFactory.GetPayload(key).BeginAsync(rules);
        return new PsiUpload(key.ToString(), uploadId, rules.ChunkBytes, rules.ExactLength > 0 ? rules.ExactLength : rules.MaxLength, rules.ElementBytes);
    }

    async Task<SessionInfo> IPsiSessionGrain.CommitPsiUploadAsync(Caller caller, PsiPayload payload, bool empty)
    {
        RequireUploader(caller, payload);
        await AdvanceIfDueAsync();
        var p = Psi;
        if (Stored(payload)) return ToInfo(); // a retry: the payload grain already refused different bytes
        RequireUploadable(payload);
        var elementBytes = ElementBytes(payload);
        long count = 0;
        if (empty)
        {
            if (payload != PsiPayload.ServerSet) throw SmpcException.Invalid($"Only the pod's set may be empty; the {Describe(payload)} has a fixed size.");
        }
        else
        {
            var manifest = await GrainFactory.GetPayload(PsiPayloadKey(payload)).GetManifestAsync();
            count = manifest.Length / elementBytes;
        }

        using var activity = PsiSpan($"psi.{Describe(payload).Replace(' ', '_')}.store");
        activity?.SetTag(SmpcTelemetry.ElementsAttribute, count);
        switch (payload)
        {
            case PsiPayload.ServerSet:
                p.ServerSetSize = count;
                if (count == 0) p.DoubleBlindedStored = true;
                break;
            case PsiPayload.Query:
                p.QueryStored = true;
                break;
            case PsiPayload.Reply:
                p.ReplyStored = true;
                break;
            default:
                p.DoubleBlindedStored = true;
                break;
        }

        SmpcTelemetry.PsiElements.Add(count, new KeyValuePair<string, object?>("smpc.psi.payload", Describe(payload)));
        if (!p.CountedByPod && p.ServerSetSize is not null && p.ReplyStored) Session.Phase = SessionPhase.Answered;
        await SaveAsync("psi.upload");
        return ToInfo();
    }

    async Task<string?> IPsiSessionGrain.GetPsiPayloadAsync(Caller caller, PsiPayload payload)
    {
        var receiver = payload is PsiPayload.ServerSet or PsiPayload.Reply ? CallerRole.Modeller : CallerRole.Pod;
        if (receiver == CallerRole.Modeller) PsiModeller(caller); else PsiPod(caller);
        await AdvanceIfDueAsync();
        if (Session.Phase is SessionPhase.Completed or SessionPhase.Failed)
            throw SmpcException.WrongPhase($"The session is {Session.Phase}; its sets are deleted.{FailureDetail()}");
        if (!Stored(payload)) throw SmpcException.WrongPhase($"The {Describe(payload)} has not been stored yet.");
        var p = Psi;
        var empty = payload switch
        {
            PsiPayload.ServerSet => p.ServerSetSize == 0,
            PsiPayload.Query or PsiPayload.Reply => p.Spec!.ModellerSetSize == 0,
            _ => p.ServerSetSize == 0,
        };
        return empty ? null : PsiPayloadKey(payload).ToString();
    }

    async Task<SessionInfo> IPsiSessionGrain.ReportPsiCountAsync(Caller caller, long count)
    {
        PsiPod(caller);
        await AdvanceIfDueAsync();
        var p = Psi;
        if (p.PodCount is { } known)
        {
            if (known == count) return ToInfo();
            throw SmpcException.Conflict("The pod already reported another count.");
        }

        RequirePsiPhase(SessionPhase.Exchange);
        if (!p.CountedByPod) throw SmpcException.WrongPhase("In this session the modeller counts; the pod reports no count.");
        if (!p.DoubleBlindedStored || !p.QueryStored) throw SmpcException.WrongPhase("The pod counts once the query and the double-blinded set are stored.");
        if (count < 0 || count > p.Spec!.ModellerSetSize) throw SmpcException.Invalid($"The count must be between 0 and the modeller's set size {p.Spec!.ModellerSetSize}.");
        using var activity = PsiSpan("psi.count");
        p.PodCount = count;
        Session.Phase = SessionPhase.Answered;
        await SaveAsync("psi.count");
        await AuditPodCountAsync(caller);
        return ToInfo();
    }

    async Task<SessionInfo> IPsiSessionGrain.CompletePsiAsync(Caller caller, long? count)
    {
        PsiModeller(caller);
        await AdvanceIfDueAsync();
        var p = Psi;
        if (Session.Phase == SessionPhase.Completed)
        {
            if (p.ReportedCount == count) return ToInfo();
            throw SmpcException.Conflict("The session was already completed with another reported count.");
        }

        RequirePsiPhase(SessionPhase.Answered);
        if (count is { } c && (c < 0 || c > p.Spec!.ModellerSetSize)) throw SmpcException.Invalid($"The count must be between 0 and the modeller's set size {p.Spec!.ModellerSetSize}.");
        if (p.PodCount is { } podCount && count is { } reported && reported != podCount)
            throw SmpcException.Invalid($"The pod counted {podCount}; a different count cannot be recorded.");
        using var activity = PsiSpan("psi.complete");
        p.ReportedCount = count;
        p.Deadline = null;
        Session.Phase = SessionPhase.Completed;
        SmpcTelemetry.SessionsEnded.Add(1, new KeyValuePair<string, object?>("smpc.session.outcome", "completed"));
        await SaveAsync("psi.complete");
        await AuditPsiCompletedAsync(caller, count is not null);
        await DeletePsiPayloadsAsync();
        return ToInfo();
    }

    protected override async Task AdvanceIfDueAsync()
    {
        if (Session.Psi is not { Deadline: { } deadline } p || Time.GetUtcNow() < deadline) return;
        if (Session.Phase is SessionPhase.Completed or SessionPhase.Failed) return;
        var waiting = Session.Phase switch
        {
            SessionPhase.AwaitingPod => "the pod to accept",
            SessionPhase.Answered => "the modeller to finish",
            _ => string.Join(", ", new[]
            {
                p.ServerSetSize is null ? "the pod's encoded set" : null,
                !p.QueryStored ? "the modeller's query" : null,
                p.QueryStored && !p.CountedByPod && !p.ReplyStored ? "the pod's reply" : null,
                p.CountedByPod && !p.DoubleBlindedStored ? "the modeller's double-blinded set" : null,
                p.CountedByPod && p.DoubleBlindedStored && p.PodCount is null ? "the pod's count" : null,
            }.OfType<string>()),
        };
        await FailPsiAsync($"The session's deadline passed while waiting for {waiting}.");
        await AuditEndedAsync(null, p.FailureReason);
    }

    private async Task FailPsiAsync(string reason)
    {
        Session.Phase = SessionPhase.Failed;
        Psi.FailureReason = reason;
        Psi.Deadline = null;
        SmpcTelemetry.SessionsEnded.Add(1, new KeyValuePair<string, object?>("smpc.session.outcome", "failed"));
        await SaveAsync("psi.fail");
        await DeletePsiPayloadsAsync();
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
                SmpcTelemetry.StorageFailures.Add(1);
            }
        }
    }

    private void PsiPod(Caller caller)
    {
        _ = PartyOf(caller);
        _ = Psi;
    }

    private void PsiModeller(Caller caller)
    {
        RequireModeller(caller);
        _ = Psi;
    }

    private void RequireUploader(Caller caller, PsiPayload payload)
    {
        if (payload is PsiPayload.ServerSet or PsiPayload.Reply) PsiPod(caller);
        else if (payload is PsiPayload.Query or PsiPayload.DoubleBlinded) PsiModeller(caller);
        else throw SmpcException.Invalid("Unknown PSI payload.");
    }

    private void RequirePsiPhase(SessionPhase phase)
    {
        if (Session.Phase == phase) return;
        throw SmpcException.WrongPhase($"The session is in phase {Session.Phase}, not {phase}.{FailureDetail()}");
    }

    private string FailureDetail() => Session.Psi?.FailureReason is { } reason ? $" It failed: {reason}" : "";

    private bool Stored(PsiPayload payload) => payload switch
    {
        PsiPayload.ServerSet => Psi.ServerSetSize is not null,
        PsiPayload.Query => Psi.QueryStored,
        PsiPayload.Reply => Psi.ReplyStored,
        _ => Psi.DoubleBlindedStored,
    };

    /// <summary>What must hold before <paramref name="payload"/> may be uploaded.</summary>
    private void RequireUploadable(PsiPayload payload)
    {
        RequirePsiPhase(SessionPhase.Exchange);
        var p = Psi;
        switch (payload)
        {
            case PsiPayload.Reply when p.CountedByPod:
                throw SmpcException.WrongPhase("In a pod-counted session the pod sends no reply; it reports the count.");
            case PsiPayload.Reply when !p.QueryStored:
                throw SmpcException.WrongPhase("The reply follows the modeller's query, which is not stored yet.");
            case PsiPayload.DoubleBlinded when !p.CountedByPod:
                throw SmpcException.WrongPhase("Only pod-counted cardinality sessions take a double-blinded set.");
            case PsiPayload.DoubleBlinded when p.ServerSetSize is null:
                throw SmpcException.WrongPhase("The double-blinded set follows the pod's encoded set, which is not stored yet.");
        }
    }

    private int ElementBytes(PsiPayload payload) =>
        payload is PsiPayload.Query or PsiPayload.Reply && IsRsa ? Psi.Spec!.KeyBits / 8 : 32;

    private PayloadConstraints UploadRules(PsiPayload payload)
    {
        var p = Psi;
        var size = ElementBytes(payload);
        var chunk = PayloadChunkBytes(size);
        var check = payload switch
        {
            PsiPayload.Query or PsiPayload.Reply => IsRsa ? PayloadElementCheck.RsaBelowModulus : PayloadElementCheck.Ristretto255,
            _ => PayloadElementCheck.None, // the modeller's client validates every element of the pod's set it uses
        };
        var modulus = check == PayloadElementCheck.RsaBelowModulus ? RsaPsiPublicKey.Parse(p.PublicKey).Modulus : null;
        return payload switch
        {
            PsiPayload.ServerSet => new PayloadConstraints(0, chunk, null, size, check, null, CreateRules.MaxPsiSetElements * size),
            PsiPayload.Query or PsiPayload.Reply => new PayloadConstraints(p.Spec!.ModellerSetSize * size, chunk, null, size, check, modulus),
            _ => new PayloadConstraints(p.ServerSetSize!.Value * size, chunk, null, size, check),
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

    private static string Describe(PsiPayload payload) => payload switch
    {
        PsiPayload.ServerSet => "pod set",
        PsiPayload.Query => "query",
        PsiPayload.Reply => "reply",
        _ => "double-blinded set",
    };

    /// <summary>A PSI step's span: a child of the session's trace (linked to the request that triggered it), like every party's spans.</summary>
    private System.Diagnostics.Activity? PsiSpan(string name)
    {
        var activity = SessionSpan(name);
        activity?.SetTag("smpc.psi.protocol", Session.Psi?.Spec?.Protocol);
        return activity;
    }
    /// <summary>The pod reported the intersection size (the number is in the session resource, not in the log).</summary>
    private Task AuditPodCountAsync(Caller caller) => AuditAsync(caller, (AuditEventType.PsiCountReported, "the pod reported the intersection size"));

    /// <summary>The modeller finished a PSI session, recording a count of its own or none.</summary>
    private Task AuditPsiCompletedAsync(Caller caller, bool countRecorded) => countRecorded && !Psi.CountedByPod
        ? AuditAsync(caller, (AuditEventType.PsiCountReported, "the modeller recorded the intersection size"), (AuditEventType.SessionCompleted, null))
        : AuditAsync(caller, (AuditEventType.SessionCompleted, null));
}
