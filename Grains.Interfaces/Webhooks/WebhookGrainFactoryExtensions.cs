namespace Smpc.Grains.Interfaces.Webhooks;

/// <summary>Typed lookups of the webhook grains, so call sites never build their keys.</summary>
public static class WebhookGrainFactoryExtensions
{
    /// <summary>The webhook dispatcher of <paramref name="tenant"/>.</summary>
    public static IWebhookDispatcherGrain GetWebhooks(this IGrainFactory factory, string tenant) => factory.GetGrain<IWebhookDispatcherGrain>(tenant);

    /// <summary>The one list of tenants with webhook endpoints.</summary>
    public static IWebhookTenantsGrain GetWebhookTenants(this IGrainFactory factory) => factory.GetGrain<IWebhookTenantsGrain>(0);
}
