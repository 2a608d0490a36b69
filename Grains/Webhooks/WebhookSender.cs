using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Sockets;
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
        catch (Exception ex)
        {
            error = ErrorClass(ex);
            activity?.SetTag("error.type", ex.GetType().FullName); // the details stay with the operator's traces and logs
        }

        activity?.SetTag("http.response.status_code", status);
        if (error is not null) activity?.SetStatus(ActivityStatusCode.Error, error);
        return new WebhookAttemptOutcome(request.EndpointId, request.Number, request.Attempt, status, error);
    }

    /// <summary>
    /// The coarse class of a failed attempt, the only thing the tenant's delivery log shows: never an exception's message,
    /// which could tell a tenant about internal addresses, ports or TLS set-up.
    /// </summary>
    public static string ErrorClass(Exception exception)
    {
        if (exception is OperationCanceledException) return Timeout;
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is WebhookAddressRefusedException) return RefusedAddress;
            if (e is SocketException { SocketErrorCode: SocketError.ConnectionRefused }) return ConnectionRefused;
            if (e is SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain }) return DnsError;
            if (e is System.Security.Authentication.AuthenticationException) return TlsError;
        }

        return exception is HttpRequestException http ? http.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => DnsError,
            HttpRequestError.SecureConnectionError => TlsError,
            HttpRequestError.ConnectionError => ConnectionFailed,
            HttpRequestError.ResponseEnded or HttpRequestError.InvalidResponse or HttpRequestError.ConfigurationLimitExceeded => InvalidResponse,
            _ => RequestFailed,
        } : RequestFailed;
    }

    /// <summary>No answer within the attempt's timeout.</summary>
    public const string Timeout = "timeout";

    /// <summary>The host resolves to an internal address (a cluster does not connect there).</summary>
    public const string RefusedAddress = "refused address";

    /// <summary>The receiver's host refused the connection.</summary>
    public const string ConnectionRefused = "connection refused";

    /// <summary>Any other failure to connect (unreachable, reset).</summary>
    public const string ConnectionFailed = "connection failed";

    /// <summary>The host name did not resolve.</summary>
    public const string DnsError = "dns error";

    /// <summary>The TLS handshake failed (certificate, protocol).</summary>
    public const string TlsError = "tls error";

    /// <summary>The receiver's answer was not valid HTTP or ended early.</summary>
    public const string InvalidResponse = "invalid response";

    /// <summary>Anything else.</summary>
    public const string RequestFailed = "request failed";
}
