namespace Smpc.Grains.Interfaces.Webhooks;

/// <summary>What a tenant admin registers: the URL (already checked by <see cref="WebhookUrlRule"/>), event types (empty: all), a description and an optional own secret.</summary>
[GenerateSerializer, Immutable, Alias("smpc.webhook-endpoint-spec")]
public sealed record WebhookEndpointSpec(
    [property: Id(0)] string Url,
    [property: Id(1)] IReadOnlyList<string> EventTypes,
    [property: Id(2)] string? Description,
    [property: Id(3)] string? Secret);

/// <summary>A registered endpoint; <see cref="Secret"/> only in the answer to its creation.</summary>
[GenerateSerializer, Immutable, Alias("smpc.webhook-endpoint")]
public sealed record WebhookEndpointInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Url,
    [property: Id(2)] IReadOnlyList<string> EventTypes,
    [property: Id(3)] string? Description,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] bool Disabled,
    [property: Id(6)] string? Secret = null);

/// <summary>One delivery as its log shows it (see the REST <c>WebhookDeliveryResponse</c>).</summary>
[GenerateSerializer, Immutable, Alias("smpc.webhook-delivery")]
public sealed record WebhookDeliveryInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string EventType,
    [property: Id(2)] string? Session,
    [property: Id(3)] DateTimeOffset OccurredAt,
    [property: Id(4)] string Status,
    [property: Id(5)] int Attempts,
    [property: Id(6)] DateTimeOffset? LastAttemptAt,
    [property: Id(7)] int? LastStatusCode,
    [property: Id(8)] string? LastError,
    [property: Id(9)] DateTimeOffset? NextAttemptAt,
    [property: Id(10)] DateTimeOffset? DeliveredAt);

/// <summary>A page of deliveries, newest first, and the cursor of the rest (null: none).</summary>
[GenerateSerializer, Immutable, Alias("smpc.webhook-delivery-page")]
public sealed record WebhookDeliveryPage(
    [property: Id(0)] IReadOnlyList<WebhookDeliveryInfo> Items,
    [property: Id(1)] string? Next);

/// <summary>How one attempt ended: <see cref="StatusCode"/> when the endpoint answered, <see cref="Error"/> when it did not answer a 2xx.</summary>
[GenerateSerializer, Immutable, Alias("smpc.webhook-attempt")]
public sealed record WebhookAttemptOutcome(
    [property: Id(0)] string EndpointId,
    [property: Id(1)] long Number,
    [property: Id(2)] int Attempt,
    [property: Id(3)] int? StatusCode,
    [property: Id(4)] string? Error)
{
    /// <summary>True for a 2xx answer.</summary>
    public bool Delivered => StatusCode is >= 200 and < 300;
}
