using Smpc.Grains.Interfaces.Webhooks;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Webhooks;

/// <summary>Stored state of the list of tenants with webhook endpoints.</summary>
public sealed class WebhookTenantsState
{
    public SortedSet<string> Tenants { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The service's one list of tenants that have webhook endpoints (one entry per tenant, written only when a tenant gets
/// its first endpoint or loses its last): a starting silo pokes their dispatchers, which resume pending deliveries even
/// where reminders live in memory (embedded mode) and were lost with the process.
/// </summary>
[GrainType("webhook-tenants")]
public sealed class WebhookTenantsGrain(
    [PersistentState("webhook-tenants", SmpcDatabase.GrainStorageName)] IPersistentState<WebhookTenantsState> state) : Grain, IWebhookTenantsGrain
{
    async Task IWebhookTenantsGrain.SetAsync(string tenant, bool hasEndpoints)
    {
        var changed = hasEndpoints ? state.State.Tenants.Add(tenant) : state.State.Tenants.Remove(tenant);
        if (changed) await state.WriteOrRollbackAsync(this, "webhooks.tenants");
    }

    Task IWebhookTenantsGrain.WakeAllAsync()
    {
        foreach (var tenant in state.State.Tenants) GrainFactory.GetWebhooks(tenant).NotifyAsync().Ignore();
        return Task.CompletedTask;
    }
}
