using System.Text.Json;
using System.Text.Json.Serialization;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Grains.Webhooks;

/// <summary>
/// Turns a tenant's audit entries into webhook events: the audit log is the one durable, ordered source of what happened,
/// so an event exists exactly when its audit entry does. Only ids, names, phases and short reasons leave the service.
/// </summary>
public static class WebhookEvents
{
    /// <summary>The category of a decline whose reason matches none of the known ones.</summary>
    public const string OtherCategory = "other";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The webhook event of an audit entry, or null for entry types no webhook carries.</summary>
    public static WebhookEventPayload? From(string tenant, AuditEntry entry)
    {
        var data = new WebhookEventData(tenant, entry.Sequence);
        var pods = entry.Pods.Count > 0 ? entry.Pods : null;
        WebhookEventData Session() => data with { Session = entry.Session, Pods = pods, Modeller = entry.Modeller };
        var (type, payload) = entry.Type switch
        {
            AuditEventTypes.SessionCreated => (WebhookEventTypes.SessionCreated, Session() with { Kind = KindOf(entry.Detail), Detail = entry.Detail }),
            AuditEventTypes.SessionPhaseChanged when PhasesOf(entry.Detail) is var (from, to) =>
                (WebhookEventTypes.SessionPhaseChanged, Session() with { PreviousPhase = from, Phase = to }),
            AuditEventTypes.SessionJoined => (WebhookEventTypes.SessionPodJoined, Session() with { Pods = PodOf(entry) ?? pods }),
            AuditEventTypes.PolicyDeclined => (WebhookEventTypes.SessionPodDeclined,
                Session() with { Pods = PodOf(entry) ?? pods, Category = DeclineCategory(entry.Detail), Detail = entry.Detail }),
            AuditEventTypes.SessionCompleted => (WebhookEventTypes.SessionCompleted, Session() with { Phase = SessionPhases.Completed, Detail = entry.Detail }),
            AuditEventTypes.SessionFailed => (WebhookEventTypes.SessionFailed, Session() with { Phase = SessionPhases.Failed, Detail = entry.Detail }),
            AuditEventTypes.SessionCancelled => (WebhookEventTypes.SessionCancelled, Session() with { Phase = SessionPhases.Cancelled, Detail = entry.Detail }),
            AuditEventTypes.CredentialRevoked or AuditEventTypes.CredentialRevocationScheduled => (WebhookEventTypes.KeyRevoked,
                data with { KeyId = entry.KeyId, Pods = pods, Modeller = entry.Modeller, Detail = entry.Detail }),
            AuditEventTypes.QuotaReached => (WebhookEventTypes.QuotaReached, data with { Category = entry.Detail?.Split(':')[0], Detail = entry.Detail }),
            _ => ((string?)null, (WebhookEventData?)null),
        };
        return type is null ? null : new WebhookEventPayload(type, entry.Time, payload!);
    }

    /// <summary>The body sent for an event: camelCase JSON without null members.</summary>
    public static string Serialize(WebhookEventPayload payload) => JsonSerializer.Serialize(payload, Json);

    /// <summary>
    /// A short, stable category of a pod's decline. Secure-aggregation pods send a category already (<see cref="DeclineCategories"/>);
    /// PSI and federated pods send a reason text: <c>unverified-modeller</c> when it is about the modeller's signature or
    /// identity, <c>internal</c> when the pod agent failed, a known category when the text starts with one, else <c>policy</c>
    /// (a pod refusing under its policy is what a free-text decline is for).
    /// </summary>
    public static string DeclineCategory(string? reason)
    {
        var text = reason?.Trim() ?? "";
        foreach (var category in DeclineCategories.All)
            if (text.Equals(category, StringComparison.Ordinal) || text.StartsWith(category + ":", StringComparison.Ordinal)) return category;
        if (text.Contains("signature", StringComparison.OrdinalIgnoreCase) && text.Contains("modeller", StringComparison.OrdinalIgnoreCase)) return DeclineCategories.UnverifiedModeller;
        if (text.StartsWith("the pod agent failed", StringComparison.OrdinalIgnoreCase)) return DeclineCategories.Internal;
        return text.Length == 0 ? OtherCategory : DeclineCategories.Policy;
    }

    private static string? KindOf(string? detail) => detail?.Split(' ')[0] is { } kind && kind is SessionKinds.SecureAggregation or SessionKinds.Psi or SessionKinds.Query or SessionKinds.Training ? kind : null;

    private static (string From, string To)? PhasesOf(string? detail)
    {
        var parts = detail?.Split(' ');
        return parts is ["from", var from, "to", var to] ? (from, to) : null;
    }

    private static IReadOnlyList<string>? PodOf(AuditEntry entry) =>
        string.Equals(entry.Actor.Role, "Pod", StringComparison.Ordinal) && entry.Actor.Subject is { } pod ? [pod] : null;
}
