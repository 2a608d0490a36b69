using System.Diagnostics;
using Smpc.Grains.Audit;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Audit;

namespace Smpc.Grains.Sessions;

/// <summary>A session's entries in its tenant's audit log: each names the session, its pods and its modeller.</summary>
public sealed partial class SessionGrain
{
    /// <summary>
    /// Records session events (type, detail) after the change is durable. <paramref name="caller"/> null: the service
    /// itself (a deadline), traced under the session's own trace rather than whatever timer ran it.
    /// </summary>
    private Task AuditAsync(Caller? caller, params (string Type, string? Detail)[] events)
    {
        var trace = caller is null && ActivityContext.TryParse(state.State.TraceParent, null, out var session) ? session.TraceId.ToHexString() : null;
        var actor = caller is null ? AuditActor.Service : AuditActor.Of(caller);
        return AuditTrail.RecordAsync(this, Key.Tenant,
            [.. events.Select(e => new AuditEvent(e.Type, actor, Key.Id, [.. state.State.PodIds], state.State.ModellerId, Detail: e.Detail, TraceId: trace))]);
    }

    /// <summary>The modeller created the session (a round names its parent).</summary>
    private Task AuditCreatedAsync(Caller caller) =>
        AuditAsync(caller, (AuditEventType.SessionCreated, $"{KindName} session" + (state.State.Parent is { } parent ? $", a round of session {parent}" : "")));

    /// <summary>A pod's first step in the session.</summary>
    private Task AuditJoinedAsync(Caller caller, string step) => AuditAsync(caller, (AuditEventType.SessionJoined, $"{caller.Subject} {step}"));

    /// <summary>The session ended: completed when <paramref name="failureReason"/> is null, else failed with it.</summary>
    private Task AuditEndedAsync(Caller? caller, string? failureReason, string? detail = null) => failureReason is null
        ? AuditAsync(caller, (AuditEventType.SessionCompleted, detail))
        : AuditAsync(caller, (AuditEventType.SessionFailed, failureReason));

    /// <summary>A pod declined under its policy, which failed the session.</summary>
    private Task AuditDeclinedAsync(Caller caller, string reason, string failure) =>
        AuditAsync(caller, (AuditEventType.PolicyDeclined, reason), (AuditEventType.SessionFailed, failure));

    /// <summary>The pod reported the intersection size (the number is in the session resource, not in the log).</summary>
    private Task AuditPodCountAsync(Caller caller) => AuditAsync(caller, (AuditEventType.PsiCountReported, "the pod reported the intersection size"));

    /// <summary>The modeller finished a PSI session, recording a count of its own or none.</summary>
    private Task AuditPsiCompletedAsync(Caller caller, bool countRecorded) => countRecorded && !Psi.CountedByPod
        ? AuditAsync(caller, (AuditEventType.PsiCountReported, "the modeller recorded the intersection size"), (AuditEventType.SessionCompleted, null))
        : AuditAsync(caller, (AuditEventType.SessionCompleted, null));

    /// <summary>The kind of a session as the REST API names it.</summary>
    private string KindName => state.State.Kind switch
    {
        Interfaces.Sessions.SessionKind.SecureAggregation => "secure-aggregation",
        Interfaces.Sessions.SessionKind.PrivateSetIntersection => "psi",
        Interfaces.Sessions.SessionKind.FederatedQuery => "query",
        _ => "training",
    };
}
