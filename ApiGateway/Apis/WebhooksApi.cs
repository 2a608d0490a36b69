using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Smpc.ApiGateway.Auth;
using Smpc.ApiGateway.Hosting;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Webhooks;

namespace Smpc.ApiGateway.Apis;

/// <summary>
/// A tenant's webhook endpoints and their delivery logs, managed by its admin (docs/webhooks.md). Events come from the
/// tenant's audit log, are signed in the Standard Webhooks format and delivered at least once, in order per endpoint.
/// </summary>
public static class WebhooksApi
{
    /// <summary>Deliveries per page when the caller names no limit.</summary>
    public const int DefaultPageSize = 100;

    public static RouteGroupBuilder MapWebhooksApi(this RouteGroupBuilder v1)
    {
        var webhooks = v1.MapGroup("/tenants/{tenantId}/webhooks").WithTags("Webhooks");
        webhooks.MapPost("/", CreateAsync).WithName("CreateWebhook")
            .WithSummary("Tenant admin: registers a webhook endpoint (https; loopback http only on an embedded service) for some or all event types; the 201 is the only answer that shows its signing secret.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithIdempotency();
        webhooks.MapGet("/", async Task<Ok<IReadOnlyList<WebhookEndpointResponse>>> (string tenantId, ClaimsPrincipal user, IGrainFactory grains) =>
                TypedResults.Ok<IReadOnlyList<WebhookEndpointResponse>>([.. (await grains.GetWebhooks(RouteIds.Tenant(tenantId)).ListEndpointsAsync(user.ToCaller())).Select(ToResponse)]))
            .WithName("ListWebhooks").WithSummary("Tenant admin: the tenant's webhook endpoints, oldest first (without secrets).")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        webhooks.MapGet("/{webhookId}", async Task<Ok<WebhookEndpointResponse>> (string tenantId, string webhookId, ClaimsPrincipal user, IGrainFactory grains) =>
                TypedResults.Ok(ToResponse(await grains.GetWebhooks(RouteIds.Tenant(tenantId)).GetEndpointAsync(user.ToCaller(), webhookId))))
            .WithName("GetWebhook").WithSummary("Tenant admin: one webhook endpoint (without its secret).")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        webhooks.MapDelete("/{webhookId}", async Task<NoContent> (string tenantId, string webhookId, ClaimsPrincipal user, IGrainFactory grains) =>
            {
                await grains.GetWebhooks(RouteIds.Tenant(tenantId)).DeleteEndpointAsync(user.ToCaller(), webhookId);
                return TypedResults.NoContent();
            })
            .WithName("DeleteWebhook").WithSummary("Tenant admin: removes a webhook endpoint with its queue and delivery log; nothing more is sent to it.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        webhooks.MapGet("/{webhookId}/deliveries", async Task<Ok<WebhookDeliveryPageResponse>> (
                string tenantId, string webhookId, ClaimsPrincipal user, IGrainFactory grains, int? limit = null, string? cursor = null) =>
            {
                var page = await grains.GetWebhooks(RouteIds.Tenant(tenantId)).ListDeliveriesAsync(user.ToCaller(), webhookId, limit ?? DefaultPageSize, cursor);
                return TypedResults.Ok(new WebhookDeliveryPageResponse([.. page.Items.Select(ToResponse)], page.Next));
            })
            .WithName("ListWebhookDeliveries")
            .WithSummary("Tenant admin: an endpoint's delivery log, newest first (limit 1–500, default 100); follow next as cursor for older deliveries.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        webhooks.MapPost("/{webhookId}/deliveries/{deliveryId}/redeliver", async Task<Accepted<WebhookDeliveryResponse>> (
                string tenantId, string webhookId, string deliveryId, ClaimsPrincipal user, IGrainFactory grains) =>
                TypedResults.Accepted((string?)null, ToResponse(await grains.GetWebhooks(RouteIds.Tenant(tenantId)).RedeliverAsync(user.ToCaller(), webhookId, deliveryId))))
            .WithName("RedeliverWebhook")
            .WithSummary("Tenant admin: sends a delivery again (same webhook-id), after what is already queued for the endpoint; retried for 24 h like a new one.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        return v1;
    }

    private static async Task<Results<Created<WebhookEndpointResponse>, ProblemHttpResult>> CreateAsync(
        string tenantId, CreateWebhookRequest body, ClaimsPrincipal user, IGrainFactory grains, IOptions<WebhookOptions> options)
    {
        var tenant = RouteIds.Tenant(tenantId);
        var caller = user.ToCaller();
        caller.RequireTenant(tenant, $"Tenant '{tenant}'"); // another tenant's caller learns nothing, not even what URLs pass
        if (WebhookUrlRule.Check(body.Url, options.Value.AllowLoopbackHttp, options.Value.AllowPrivateAddresses) is { } problem)
            return TypedResults.Problem(detail: problem, statusCode: StatusCodes.Status400BadRequest, title: "Invalid webhook URL", type: ProblemTypes.InvalidWebhookUrl);
        var created = await grains.GetWebhooks(tenant).CreateEndpointAsync(caller, new WebhookEndpointSpec(body.Url, body.EventTypes ?? [], body.Description, body.Secret));
        return TypedResults.Created($"/v1/tenants/{tenant}/webhooks/{created.Id}", ToResponse(created));
    }

    private static WebhookEndpointResponse ToResponse(WebhookEndpointInfo e) => new(e.Id, e.Url, e.EventTypes, e.Description, e.CreatedAt, e.Disabled, e.Secret);

    private static WebhookDeliveryResponse ToResponse(WebhookDeliveryInfo d) => new(
        d.Id, d.EventType, d.Session, d.OccurredAt, d.Status, d.Attempts, d.LastAttemptAt, d.LastStatusCode, d.LastError, d.NextAttemptAt, d.DeliveredAt);
}
