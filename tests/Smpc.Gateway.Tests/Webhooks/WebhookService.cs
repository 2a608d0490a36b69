namespace Smpc.Gateway.Tests.Webhooks;

/// <summary>An embedded service whose webhook retries come at once (the service's clock is manual: delays would never pass).</summary>
public sealed class WebhookService : EmbeddedService
{
    protected override IEnumerable<string> Settings => [.. base.Settings, "--Smpc:Webhooks:RetryDelayScale=0"];
}

[CollectionDefinition(Name)]
public sealed class WebhookServiceCollection : ICollectionFixture<WebhookService>
{
    public const string Name = "webhook service";
}
