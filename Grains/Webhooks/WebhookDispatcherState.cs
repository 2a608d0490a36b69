namespace Smpc.Grains.Webhooks;

/// <summary>Stored state of a tenant's webhooks: its endpoints and how far the audit log was read.</summary>
public sealed class WebhookDispatcherState
{
    /// <summary>The last audit sequence number turned into deliveries.</summary>
    public long Cursor { get; set; }

    public List<WebhookEndpointRecord> Endpoints { get; set; } = [];
}

/// <summary>One endpoint with its delivery log (oldest first) and its send queue (delivery numbers, in sending order).</summary>
public sealed class WebhookEndpointRecord
{
    public string Id { get; set; } = "";
    public string Url { get; set; } = "";
    public List<string> EventTypes { get; set; } = [];
    public string? Description { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The signing secret (<c>whsec_…</c>): held by the service because it signs with it; returned only at creation.</summary>
    public string Secret { get; set; } = "";

    /// <summary>Audit entries up to this sequence number happened before the endpoint existed and are not sent to it.</summary>
    public long StartAfter { get; set; }

    /// <summary>The number the next delivery gets (numbers order the log and make the cursor of its pages).</summary>
    public long NextNumber { get; set; } = 1;

    public List<WebhookDeliveryRecord> Log { get; set; } = [];

    public List<long> Queue { get; set; } = [];

    /// <summary>True when the endpoint takes events of <paramref name="type"/>.</summary>
    public bool Takes(string type) => EventTypes.Count == 0 || EventTypes.Contains(type);

    /// <summary>The logged delivery with this number, or null.</summary>
    public WebhookDeliveryRecord? Find(long number)
    {
        var i = Log.BinarySearch(new WebhookDeliveryRecord { Number = number }, Comparer<WebhookDeliveryRecord>.Create((a, b) => a.Number.CompareTo(b.Number)));
        return i >= 0 ? Log[i] : null;
    }
}

/// <summary>
/// One delivery of one event to one endpoint and its attempts. <see cref="Body"/> is kept while it is pending (every
/// attempt signs the same bytes) and emptied once it is delivered or failed, so a logged delivery costs about 250 bytes
/// of state (ids, type, session, times, status), not its body; a redelivery rebuilds the body from the audit entry.
/// </summary>
public sealed class WebhookDeliveryRecord
{
    public long Number { get; set; }
    public string Id { get; set; } = "";
    public long AuditSequence { get; set; }
    public string EventType { get; set; } = "";
    public string? Session { get; set; }
    public DateTimeOffset OccurredAt { get; set; }
    public string Body { get; set; } = "";
    public string Status { get; set; } = "";
    public int Attempts { get; set; }
    public DateTimeOffset? LastAttemptAt { get; set; }
    public int? LastStatusCode { get; set; }
    public string? LastError { get; set; }
    public DateTimeOffset? NextAttemptAt { get; set; }
    public DateTimeOffset? DeliveredAt { get; set; }

    /// <summary>After this time a failed attempt is not retried: the delivery is given up as failed.</summary>
    public DateTimeOffset GiveUpAt { get; set; }
}
