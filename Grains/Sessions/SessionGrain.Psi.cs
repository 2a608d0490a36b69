using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Sessions;
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
public sealed partial class SessionGrain
{
    /// <summary>The largest set either side may bring (50M elements: 1.6 GB of encoded set).</summary>
    public const long MaxPsiSetElements = 50_000_000;

    private static IReadOnlyDictionary<string, ColumnKind> ColumnKinds => ColumnKindNames.All;

    private PsiState Psi => state.State.Psi ?? throw SmpcException.Invalid("This is not a PSI session.");

    private bool IsRsa => Psi.Spec!.Protocol == PsiProtocols.RsaBlind;

    /// <summary>Validates a PSI spec and fills its defaults.</summary>
    private static PsiState CreatePsi(PsiSpec? spec)
    {
        if (spec is null) throw SmpcException.Invalid("A PSI session needs 'psi' (protocol, mode, columns on both sides, the pod's source, the modeller's set size).");
        if (spec.Protocol is not (PsiProtocols.Ecdh or PsiProtocols.RsaBlind)) throw SmpcException.Invalid("psi.protocol must be 'ecdh' or 'rsa-blind'.");
        if (spec.Mode is not (PsiModes.Intersection or PsiModes.Cardinality)) throw SmpcException.Invalid("psi.mode must be 'intersection' or 'cardinality'.");
        if (!EntityKey.IsValidId(spec.Source)) throw SmpcException.Invalid("psi.source must name one of the pod's data sources (an id).");
        if (spec.ModellerSetSize < 0 || spec.ModellerSetSize > MaxPsiSetElements)
            throw SmpcException.Invalid($"psi.modellerSetSize must be between 0 and {MaxPsiSetElements}.");
        if (spec.Timeout < TimeSpan.FromSeconds(5) || spec.Timeout > TimeSpan.FromDays(7)) throw SmpcException.Invalid("psi.timeoutSeconds must be between 5 seconds and 7 days.");
        var keyBits = spec.Protocol == PsiProtocols.RsaBlind ? (spec.KeyBits == 0 ? RsaPsiPublicKey.DefaultBits : spec.KeyBits) : 0;
        if (spec.Protocol == PsiProtocols.RsaBlind && keyBits is not (2048 or 3072 or 4096)) throw SmpcException.Invalid("psi.keyBits must be 2048, 3072 or 4096.");
        if (spec.Protocol == PsiProtocols.Ecdh && spec.KeyBits != 0) throw SmpcException.Invalid("psi.keyBits applies to rsa-blind only.");
        var mine = spec.ModellerColumns ?? [];
        var theirs = spec.PodColumns ?? [];
        if (mine.Count is 0 or > 16) throw SmpcException.Invalid("psi.modellerColumns must name 1 to 16 columns.");
        if (theirs.Count != mine.Count) throw SmpcException.Invalid("psi.podColumns must name as many columns as psi.modellerColumns.");
        foreach (var (column, i) in mine.Select((c, i) => (c, i)).Concat(theirs.Select((c, i) => (c, i))))
        {
            if (string.IsNullOrWhiteSpace(column.Name) || column.Name.Length > 128) throw SmpcException.Invalid($"Column {i + 1}: a name of 1 to 128 characters is needed.");
            if (!ColumnKinds.ContainsKey(column.Kind ?? "")) throw SmpcException.Invalid($"Column '{column.Name}': kind must be one of {string.Join(", ", ColumnKinds.Keys)}.");
            if (column.CountryCode is { } cc && (column.Kind != "phone" || RecordEncoder.PhoneRegion(cc) is null))
                throw SmpcException.Invalid($"Column '{column.Name}': countryCode is a country calling code (e.g. 44) or region (e.g. GB) and applies to phone columns only.");
        }

        for (var i = 0; i < mine.Count; i++)
            if (mine[i].Kind != theirs[i].Kind)
                throw SmpcException.Invalid($"Column {i + 1}: '{mine[i].Name}' is {mine[i].Kind} but the pod's '{theirs[i].Name}' is {theirs[i].Kind}; matched columns need the same kind.");
        return new PsiState { Spec = spec with { KeyBits = keyBits, ModellerColumns = [.. mine], PodColumns = [.. theirs] } };
    }

    private static bool SamePsiSpec(PsiSpec? a, PsiSpec? b) =>
        a is null ? b is null : b is not null && a.Protocol == b.Protocol && a.Mode == b.Mode && a.Source == b.Source && a.ModellerSetSize == b.ModellerSetSize
            && (a.KeyBits == b.KeyBits || (b.KeyBits == 0 && a.KeyBits == RsaPsiPublicKey.DefaultBits)) && a.Timeout == b.Timeout
            && a.ModellerColumns.SequenceEqual(b.ModellerColumns) && a.PodColumns.SequenceEqual(b.PodColumns);

    private PsiStatus? PsiStatus()
    {
        if (state.State.Psi is not { Spec: not null } p) return null;
        return new PsiStatus(p.Spec, p.Deadline, p.PublicKey, p.Accepted, p.CountedByPod, p.ServerSetSize, p.QueryStored, p.ReplyStored, p.DoubleBlindedStored,
            p.PodCount, p.ReportedCount, p.FailureReason);
    }

    async Task<SessionInfo> ISessionGrain.AcceptPsiAsync(Caller caller, PsiAccept accept)
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
        state.State.Phase = SessionPhase.Exchange;
        if (p.Spec!.ModellerSetSize == 0)
        {
            p.QueryStored = true;
            p.ReplyStored = true;
        }

        await SavePsiAsync("psi.accept");
        await AuditJoinedAsync(caller, $"accepted the session ({p.Spec!.Protocol}{(p.CountedByPod ? ", counted by the pod" : "")})");
        return ToInfo();
    }

    async Task<SessionInfo> ISessionGrain.DeclinePsiAsync(Caller caller, string reason)
    {
        PsiPod(caller);
        await AdvanceIfDueAsync();
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > 500) throw SmpcException.Invalid("A reason of 1 to 500 characters is needed.");
        var p = Psi;
        var failure = $"The pod declined: {reason.Trim()}";
        if (state.State.Phase == SessionPhase.Failed && p.FailureReason == failure) return ToInfo();
        if (state.State.Phase is SessionPhase.Completed or SessionPhase.Failed or SessionPhase.Answered)
            throw SmpcException.WrongPhase($"The session is already {state.State.Phase}.");
        using var activity = PsiSpan("psi.decline");
        await FailPsiAsync(failure);
        await AuditDeclinedAsync(caller, reason.Trim(), failure);
        return ToInfo();
    }

    async Task<PsiUpload> ISessionGrain.BeginPsiUploadAsync(Caller caller, PsiPayload payload)
    {
        RequireUploader(caller, payload);
        await AdvanceIfDueAsync();
        RequireUploadable(payload);
        var rules = UploadRules(payload);
        var key = PsiPayloadKey(payload);
        var uploadId = await GrainFactory.GetPayload(key).BeginAsync(rules);
        return new PsiUpload(key.ToString(), uploadId, rules.ChunkBytes, rules.ExactLength > 0 ? rules.ExactLength : rules.MaxLength, rules.ElementBytes);
    }

    async Task<SessionInfo> ISessionGrain.CommitPsiUploadAsync(Caller caller, PsiPayload payload, bool empty)
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
        if (!p.CountedByPod && p.ServerSetSize is not null && p.ReplyStored) state.State.Phase = SessionPhase.Answered;
        await SavePsiAsync("psi.upload");
        return ToInfo();
    }

    async Task<string?> ISessionGrain.GetPsiPayloadAsync(Caller caller, PsiPayload payload)
    {
        var receiver = payload is PsiPayload.ServerSet or PsiPayload.Reply ? CallerRole.Modeller : CallerRole.Pod;
        if (receiver == CallerRole.Modeller) PsiModeller(caller); else PsiPod(caller);
        await AdvanceIfDueAsync();
        if (state.State.Phase is SessionPhase.Completed or SessionPhase.Failed)
            throw SmpcException.WrongPhase($"The session is {state.State.Phase}; its sets are deleted.{FailureDetail()}");
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

    async Task<SessionInfo> ISessionGrain.ReportPsiCountAsync(Caller caller, long count)
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
        state.State.Phase = SessionPhase.Answered;
        await SavePsiAsync("psi.count");
        await AuditPodCountAsync(caller);
        return ToInfo();
    }

    async Task<SessionInfo> ISessionGrain.CompletePsiAsync(Caller caller, long? count)
    {
        PsiModeller(caller);
        await AdvanceIfDueAsync();
        var p = Psi;
        if (state.State.Phase == SessionPhase.Completed)
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
        state.State.Phase = SessionPhase.Completed;
        SmpcTelemetry.SessionsEnded.Add(1, new KeyValuePair<string, object?>("smpc.session.outcome", "completed"));
        await SavePsiAsync("psi.complete");
        await AuditPsiCompletedAsync(caller, count is not null);
        await DeletePsiPayloadsAsync();
        return ToInfo();
    }

    private async Task AdvancePsiIfDueAsync()
    {
        if (state.State.Psi is not { Deadline: { } deadline } p || time.GetUtcNow() < deadline) return;
        if (state.State.Phase is SessionPhase.Completed or SessionPhase.Failed) return;
        var waiting = state.State.Phase switch
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
        state.State.Phase = SessionPhase.Failed;
        Psi.FailureReason = reason;
        Psi.Deadline = null;
        SmpcTelemetry.SessionsEnded.Add(1, new KeyValuePair<string, object?>("smpc.session.outcome", "failed"));
        await SavePsiAsync("psi.fail");
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

    private async Task SavePsiAsync(string operation)
    {
        state.State.Version++;
        await state.WriteOrRollbackAsync(this, operation);
        ScheduleDeadline();
        NotifyChanged();
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
        if (state.State.Phase == phase) return;
        throw SmpcException.WrongPhase($"The session is in phase {state.State.Phase}, not {phase}.{FailureDetail()}");
    }

    private string FailureDetail() => state.State.Psi?.FailureReason is { } reason ? $" It failed: {reason}" : "";

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
            PsiPayload.ServerSet => new PayloadConstraints(0, chunk, null, size, check, null, MaxPsiSetElements * size),
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
        activity?.SetTag("smpc.psi.protocol", state.State.Psi?.Spec?.Protocol);
        return activity;
    }
}
