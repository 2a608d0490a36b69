// REST contracts of a tenant's webhook endpoints (/v1/tenants/{tenantId}/webhooks) and of the events they receive.
// Plain data records, read together; docs/webhooks.md tells the whole story.
namespace Smpc.Contracts;

/// <summary>
/// Registers an endpoint. <c>Url</c>: absolute https (plain http only to a loopback host of an embedded service);
/// <c>EventTypes</c>: some of <see cref="WebhookEventTypes.All"/>, omitted or empty for all; <c>Secret</c>: a
/// <c>whsec_</c> secret of your own (base64 of 24–64 bytes), or omitted for one the service makes.
/// </summary>
public sealed record CreateWebhookRequest(string Url, IReadOnlyList<string>? EventTypes = null, string? Description = null, string? Secret = null);

/// <summary>
/// A registered endpoint. <c>Secret</c> (the signing secret, <c>whsec_…</c>) is returned only once, in the 201 of its
/// creation; every later read leaves it null.
/// </summary>
public sealed record WebhookEndpointResponse(
    string Id, string Url, IReadOnlyList<string> EventTypes, string? Description, DateTimeOffset CreatedAt, bool Disabled, string? Secret = null);

/// <summary>
/// One delivery of one event to one endpoint. <c>Id</c> is the <c>webhook-id</c> header (<c>msg_…</c>), the same on every
/// attempt and redelivery, so receivers deduplicate by it. <c>Status</c>: pending, delivered or failed (given up).
/// </summary>
public sealed record WebhookDeliveryResponse(
    string Id, string EventType, string? Session, DateTimeOffset OccurredAt, string Status, int Attempts, DateTimeOffset? LastAttemptAt,
    int? LastStatusCode, string? LastError, DateTimeOffset? NextAttemptAt, DateTimeOffset? DeliveredAt);

/// <summary>A page of an endpoint's delivery log, newest first; pass <c>Next</c> as <c>cursor</c> for older ones (null: no more).</summary>
public sealed record WebhookDeliveryPageResponse(IReadOnlyList<WebhookDeliveryResponse> Items, string? Next);

/// <summary>The stable states of a delivery.</summary>
public static class WebhookDeliveryStatuses
{
    /// <summary>Not yet answered with a 2xx: waiting for its turn, its first attempt or a retry.</summary>
    public const string Pending = "pending";

    /// <summary>The endpoint answered a 2xx.</summary>
    public const string Delivered = "delivered";

    /// <summary>Given up 24 h after the event (or the redelivery) with no 2xx.</summary>
    public const string Failed = "failed";
}

/// <summary>
/// The body POSTed to an endpoint: the event type, when it happened (RFC 3339) and its data. Never an input, a result or
/// payload bytes: ids, names and short reasons only.
/// </summary>
public sealed record WebhookEventPayload(string Type, DateTimeOffset Timestamp, WebhookEventData Data);

/// <summary>
/// What an event is about. <c>AuditSequence</c> is the tenant's audit entry the event comes from (receivers may use it
/// to order events or to look the entry up). The other fields appear when they apply: <c>Phase</c>/<c>PreviousPhase</c>
/// for session.phase-changed, <c>Category</c> for session.pod-declined (the reason category) and quota.reached (the
/// quota's name), <c>KeyId</c> for key.revoked, <c>Detail</c> a short human text (a failure or cancellation reason).
/// </summary>
public sealed record WebhookEventData(
    string Tenant, long AuditSequence, string? Session = null, string? Kind = null, string? Phase = null, string? PreviousPhase = null,
    IReadOnlyList<string>? Pods = null, string? Modeller = null, string? KeyId = null, string? Category = null, string? Detail = null);

/// <summary>The event types an endpoint can subscribe to (the <c>type</c> of a payload); a name never changes once shipped.</summary>
public static class WebhookEventTypes
{
    /// <summary>A modeller created a session.</summary>
    public const string SessionCreated = "session.created";

    /// <summary>A session moved from one phase to the next (<c>previousPhase</c> → <c>phase</c>).</summary>
    public const string SessionPhaseChanged = "session.phase-changed";

    /// <summary>A pod took its first step in a session.</summary>
    public const string SessionPodJoined = "session.pod-joined";

    /// <summary>A pod declined a session under its policy; <c>category</c> says why (see docs/webhooks.md).</summary>
    public const string SessionPodDeclined = "session.pod-declined";

    /// <summary>A session completed: the modeller can fetch its result.</summary>
    public const string SessionCompleted = "session.completed";

    /// <summary>A session failed; <c>detail</c> is its failure reason.</summary>
    public const string SessionFailed = "session.failed";

    /// <summary>A session was cancelled; <c>detail</c> is the reason given, if any.</summary>
    public const string SessionCancelled = "session.cancelled";

    /// <summary>A request was refused by a quota (once per tenant, quota and UTC day); <c>category</c> names the quota.</summary>
    public const string QuotaReached = "quota.reached";

    /// <summary>An API key was revoked (with immediate effect, or when a scheduled revocation was set).</summary>
    public const string KeyRevoked = "key.revoked";

    /// <summary>Every event type, in the order documented.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        SessionCreated, SessionPhaseChanged, SessionPodJoined, SessionPodDeclined, SessionCompleted, SessionFailed, SessionCancelled, QuotaReached, KeyRevoked,
    ];

    /// <summary>One line per event type, for the OpenAPI document's webhooks.</summary>
    public static IReadOnlyDictionary<string, string> Descriptions { get; } = new Dictionary<string, string>
    {
        [SessionCreated] = "A modeller created a session (data: session, kind, pods, modeller).",
        [SessionPhaseChanged] = "A session moved to another phase (data: previousPhase, phase).",
        [SessionPodJoined] = "A pod took its first step in a session (data: pods = the pod).",
        [SessionPodDeclined] = "A pod declined a session under its policy (data: pods = the pod, category, detail); the session fails.",
        [SessionCompleted] = "A session completed: its modeller can fetch the result.",
        [SessionFailed] = "A session failed (data: detail = the reason).",
        [SessionCancelled] = "A session was cancelled by its modeller or the tenant admin (data: detail = the reason given).",
        [QuotaReached] = "A quota refused a request, reported once per tenant, quota and UTC day (data: category = the quota).",
        [KeyRevoked] = "An API key was revoked, at once or from a scheduled time (data: keyId, pods or modeller, detail).",
    };
}

/// <summary>The Standard Webhooks headers of every delivery.</summary>
public static class WebhookHeaders
{
    /// <summary>The delivery's id (<c>msg_…</c>): the same on every retry and redelivery; deduplicate by it.</summary>
    public const string Id = "webhook-id";

    /// <summary>When this attempt was signed, in unix seconds; reject deliveries far from your clock (replays).</summary>
    public const string Timestamp = "webhook-timestamp";

    /// <summary><c>v1,&lt;base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")&gt;</c> (space-separated when several).</summary>
    public const string Signature = "webhook-signature";
}
