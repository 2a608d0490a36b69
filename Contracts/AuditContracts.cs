// REST contracts of a tenant's audit log (/v1/tenants/{tenantId}/audit). Plain data records, read together.
namespace Smpc.Contracts;

/// <summary>Who caused an audit event: <c>Role</c> is Operator, TenantAdmin, Pod, Modeller, or Service (the service itself, e.g. a deadline).</summary>
public sealed record AuditActorResponse(string Role, string? Subject, string? KeyId);

/// <summary>
/// One audit entry. <c>Sequence</c> numbers a tenant's entries 1, 2, 3, … with no gaps; <c>Type</c> is one of
/// <see cref="AuditEventTypes"/>; <c>Session</c>, <c>Pods</c>, <c>Modeller</c> and <c>KeyId</c> name the resources it is
/// about; <c>TraceId</c> is the W3C trace id of the request (or session) that caused it. Never a secret or an input.
/// </summary>
public sealed record AuditEntryResponse(
    long Sequence, DateTimeOffset Time, string Type, AuditActorResponse Actor, string? Session, IReadOnlyList<string> Pods,
    string? Modeller, string? KeyId, string? TraceId, string? Detail);

/// <summary>
/// A page of audit entries in sequence order. Pass <c>Next</c> as <c>after</c> for the rest; it is null once the log was
/// read to its end (a page may hold fewer entries than asked while more follow). <c>Head</c> is the last sequence number then.
/// </summary>
public sealed record AuditPageResponse(IReadOnlyList<AuditEntryResponse> Entries, long? Next, long Head);

/// <summary>
/// Filters of an audit read: <c>Type</c> exact or a family (<c>session.*</c>); <c>Actor</c> a role, subject id or key
/// id; <c>Since</c> inclusive, <c>Until</c> exclusive; <c>Pod</c> the entries that involve that pod.
/// </summary>
public sealed record AuditFilter(
    string? Type = null, string? Session = null, string? Actor = null, DateTimeOffset? Since = null, DateTimeOffset? Until = null, string? Pod = null);

/// <summary>The stable names of audit events; clients filter on them, so a name never changes once shipped.</summary>
public static class AuditEventTypes
{
    /// <summary>The operator created the tenant (its first admin key follows as <see cref="CredentialIssued"/>).</summary>
    public const string TenantCreated = "tenant.created";

    /// <summary>The operator set or cleared the tenant's rate limits and quotas.</summary>
    public const string TenantLimitsChanged = "tenant.limits-changed";

    /// <summary>An API key was issued (admin, pod or modeller); the entry names its key id, never its secret or hash.</summary>
    public const string CredentialIssued = "credential.issued";

    /// <summary>An API key was revoked with immediate effect.</summary>
    public const string CredentialRevoked = "credential.revoked";

    /// <summary>An API key's revocation was scheduled (a rotation's overlap); the detail says when it takes effect.</summary>
    public const string CredentialRevocationScheduled = "credential.revocation-scheduled";

    /// <summary>The tenant admin registered a pod; the detail carries its identity key's fingerprint.</summary>
    public const string PodRegistered = "pod.registered";

    /// <summary>A pod's identity key changed (reserved: the service has no route that changes one today).</summary>
    public const string PodIdentityChanged = "pod.identity-changed";

    /// <summary>The tenant admin registered a modeller.</summary>
    public const string ModellerRegistered = "modeller.registered";

    /// <summary>A modeller created a session.</summary>
    public const string SessionCreated = "session.created";

    /// <summary>A pod took its first step in a session (key bundle, PSI acceptance or federated member key).</summary>
    public const string SessionJoined = "session.joined";

    /// <summary>A session completed.</summary>
    public const string SessionCompleted = "session.completed";

    /// <summary>A session failed; the detail is its failure reason.</summary>
    public const string SessionFailed = "session.failed";

    /// <summary>The modeller or the tenant admin cancelled a session; the detail is the reason given, if any.</summary>
    public const string SessionCancelled = "session.cancelled";

    /// <summary>An intersection size was reported (by the pod in pod-counted PSI, or recorded by the modeller); the number itself is not logged.</summary>
    public const string PsiCountReported = "psi.count-reported";

    /// <summary>A pod declined a session under its policy; the detail is its reason (for secure aggregation, its reason category only).</summary>
    public const string PolicyDeclined = "policy.declined";

    /// <summary>A session moved to another phase; the detail is <c>from {previous} to {phase}</c> in the REST phase names.</summary>
    public const string SessionPhaseChanged = "session.phase-changed";

    /// <summary>A request was refused by a quota (recorded once per tenant, quota and UTC day); the detail is <c>{quota}: limit {n}</c>.</summary>
    public const string QuotaReached = "quota.reached";

    /// <summary>Every event type, for validation and documentation.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        TenantCreated, TenantLimitsChanged, CredentialIssued, CredentialRevoked, CredentialRevocationScheduled, PodRegistered, PodIdentityChanged,
        ModellerRegistered, SessionCreated, SessionJoined, SessionCompleted, SessionFailed, SessionCancelled, PsiCountReported, PolicyDeclined,
        SessionPhaseChanged, QuotaReached,
    ];

    /// <summary>The media type of an export: one JSON entry per line.</summary>
    public const string JsonLines = "application/x-ndjson";
}
