using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Smpc.Contracts;

namespace Smpc.ApiGateway.Hosting;

/// <summary>
/// Adds the OpenAPI 3.1 top-level <c>webhooks</c>: one entry per event type, a POST with the <see cref="WebhookEventPayload"/>
/// body and the three Standard Webhooks headers, answered by any 2xx (anything else is retried).
/// </summary>
public sealed class WebhookDocumentTransformer : IOpenApiDocumentTransformer
{
    private const string PayloadSchema = nameof(WebhookEventPayload);

    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        if (!document.Components.Schemas.ContainsKey(PayloadSchema))
            document.AddComponent(PayloadSchema, await context.GetOrCreateSchemaAsync(typeof(WebhookEventPayload), null, cancellationToken));
        if (!document.Components.Schemas.ContainsKey(nameof(WebhookEventData)))
            document.AddComponent(nameof(WebhookEventData), await context.GetOrCreateSchemaAsync(typeof(WebhookEventData), null, cancellationToken));

        document.Webhooks ??= new Dictionary<string, IOpenApiPathItem>();
        foreach (var type in WebhookEventTypes.All)
        {
            var operation = new OpenApiOperation
            {
                OperationId = "Webhook_" + string.Concat(type.Split('.', '-').Select(w => char.ToUpperInvariant(w[0]) + w[1..])),
                Summary = WebhookEventTypes.Descriptions[type],
                Description = $"Sent to endpoints subscribed to `{type}` (or to all events); `type` in the body is `{type}`. Verify the signature over the raw body before parsing it (docs/webhooks.md).",
                Tags = new HashSet<OpenApiTagReference> { new("Webhooks", document) },
                Parameters =
                [
                    Header(WebhookHeaders.Id, "The delivery's id (msg_…): the same on every retry and redelivery; deduplicate by it.", JsonSchemaType.String),
                    Header(WebhookHeaders.Timestamp, "When this attempt was signed, in unix seconds; reject deliveries far from your clock.", JsonSchemaType.Integer),
                    Header(WebhookHeaders.Signature, "v1,<base64 HMAC-SHA256(secret bytes, \"{webhook-id}.{webhook-timestamp}.{body}\")>; several space-separated values may appear.", JsonSchemaType.String),
                ],
                RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/json"] = new() { Schema = new OpenApiSchemaReference(PayloadSchema, document) },
                    },
                },
                Responses = new OpenApiResponses
                {
                    ["2XX"] = new OpenApiResponse { Description = "Delivered. Any other answer, or none within 10 s, is retried with backoff for up to 24 h." },
                },
            };
            document.Webhooks[type] = new OpenApiPathItem { Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Post] = operation } };
        }
    }

    private static OpenApiParameter Header(string name, string description, JsonSchemaType type) => new()
    {
        Name = name,
        In = ParameterLocation.Header,
        Required = true,
        Description = description,
        Schema = new OpenApiSchema { Type = type },
    };
}
