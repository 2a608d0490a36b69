using Orleans.Concurrency;
using Smpc.Grains.Interfaces.Access;

namespace Smpc.Grains.Interfaces.Webhooks;

/// <summary>
/// A tenant's webhooks, keyed by tenant id: its endpoints, and for each a queue and log of deliveries made from the
/// tenant's audit log (the source of every event), sent in order, retried with backoff and kept durably. Managed by the
/// tenant admin only; anyone of another tenant (and the operator) sees not-found.
/// </summary>
[Alias("smpc.webhook-dispatcher")]
public interface IWebhookDispatcherGrain : IGrainWithStringKey
{
    /// <summary>Registers an endpoint; the answer is the only one that carries its secret. Events after this call are delivered to it.</summary>
    [Alias("create")] Task<WebhookEndpointInfo> CreateEndpointAsync(Caller caller, WebhookEndpointSpec spec);

    /// <summary>The tenant's endpoints, oldest first (no secrets).</summary>
    [Alias("list")] Task<IReadOnlyList<WebhookEndpointInfo>> ListEndpointsAsync(Caller caller);

    /// <summary>One endpoint (no secret).</summary>
    [Alias("get")] Task<WebhookEndpointInfo> GetEndpointAsync(Caller caller, string endpointId);

    /// <summary>Removes an endpoint with its queue and log; nothing more is sent to it.</summary>
    [Alias("delete")] Task DeleteEndpointAsync(Caller caller, string endpointId);

    /// <summary>A page of an endpoint's deliveries, newest first, older than <paramref name="cursor"/> (a previous page's next).</summary>
    [Alias("deliveries")] Task<WebhookDeliveryPage> ListDeliveriesAsync(Caller caller, string endpointId, int limit, string? cursor);

    /// <summary>Queues a delivery again (same webhook-id), after what is already queued for the endpoint.</summary>
    [Alias("redeliver")] Task<WebhookDeliveryInfo> RedeliverAsync(Caller caller, string endpointId, string deliveryId);

    /// <summary>Service-internal: the audit log has new entries (or the silo started): read them and send what is due.</summary>
    [Alias("notify"), OneWay] Task NotifyAsync();

    /// <summary>Service-internal: the outcome of an attempt that ran outside the grain's turns.</summary>
    [Alias("attempted")] Task CompleteAttemptAsync(WebhookAttemptOutcome outcome);
}

/// <summary>The service's list of tenants that have webhook endpoints, so a starting silo can wake their dispatchers.</summary>
[Alias("smpc.webhook-tenants")]
public interface IWebhookTenantsGrain : IGrainWithIntegerKey
{
    /// <summary>Records whether <paramref name="tenant"/> has endpoints.</summary>
    [Alias("set")] Task SetAsync(string tenant, bool hasEndpoints);

    /// <summary>Pokes the dispatcher of every listed tenant (one-way), e.g. at silo start when in-memory reminders were lost.</summary>
    [Alias("wake")] Task WakeAllAsync();
}
