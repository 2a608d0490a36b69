using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Webhooks;
using Smpc.Protocols.Webhooks;

namespace Smpc.Grains.Webhooks;

/// <summary>One attempt to send: where, signed with what, and the body exactly as stored.</summary>
public sealed record WebhookRequest(string Tenant, string EndpointId, string Url, string Secret, string MessageId, long Number, int Attempt, string Body);

/// <summary>
/// Sends one signed webhook request through <see cref="IHttpClientFactory"/> (client <see cref="ClientName"/>: no redirects,
/// the configured timeout). Never throws: every failure becomes an outcome the dispatcher retries.
/// </summary>
public sealed class WebhookSender(IHttpClientFactory clients, TimeProvider time, IOptions<WebhookOptions> options)
{
    /// <summary>The named HTTP client webhooks use.</summary>
    public const string ClientName = "smpc-webhooks";

    /// <summary>Longest error text kept in a delivery's log.</summary>
    public const int MaxErrorLength = 200;

    /// <summary>POSTs the request (a fresh webhook-timestamp and signature per attempt, the same webhook-id) and says how it ended.</summary>
    public async Task<WebhookAttemptOutcome> SendAsync(WebhookRequest request)
    {
        using var activity = SmpcTelemetry.Grains.StartActivity("webhook.deliver", ActivityKind.Client);
        activity?.SetTag(SmpcTelemetry.TenantAttribute, request.Tenant);
        activity?.SetTag(SmpcTelemetry.WebhookAttribute, request.EndpointId);
        activity?.SetTag(SmpcTelemetry.WebhookMessageAttribute, request.MessageId);
        activity?.SetTag("smpc.webhook.attempt", request.Attempt);
        int? status = null;
        string? error;
        try
        {
            var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
            var body = System.Text.Encoding.UTF8.GetBytes(request.Body);
            using var message = new HttpRequestMessage(HttpMethod.Post, request.Url) { Content = new ByteArrayContent(body) };
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            message.Headers.TryAddWithoutValidation(WebhookHeaders.Id, request.MessageId);
            message.Headers.TryAddWithoutValidation(WebhookHeaders.Timestamp, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
            message.Headers.TryAddWithoutValidation(WebhookHeaders.Signature, WebhookSignature.FromSecret(request.Secret).Sign(request.MessageId, timestamp, body));
            message.Headers.UserAgent.ParseAdd("Smpc-Webhooks/1");
            using var cts = new CancellationTokenSource(options.Value.Timeout);
            using var response = await clients.CreateClient(ClientName).SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            status = (int)response.StatusCode;
            error = response.IsSuccessStatusCode ? null : $"HTTP {status}";
        }
        catch (OperationCanceledException)
        {
            error = $"no answer within {options.Value.Timeout.TotalSeconds:0.#} s";
        }
        catch (Exception ex)
        {
            error = ex.GetType().Name + ": " + ex.Message;
        }

        if (error is { Length: > MaxErrorLength }) error = error[..(MaxErrorLength - 1)] + "…";
        activity?.SetTag("http.response.status_code", status);
        if (error is not null) activity?.SetStatus(ActivityStatusCode.Error, error);
        return new WebhookAttemptOutcome(request.EndpointId, request.Number, request.Attempt, status, error);
    }
}
