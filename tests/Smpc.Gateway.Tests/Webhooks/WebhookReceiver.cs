using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Smpc.Gateway.Tests.Webhooks;

/// <summary>
/// A real HTTP receiver on a loopback port (its own Kestrel): records every request it gets with the status it answered
/// (<see cref="Answer"/> decides), and verifies signatures independently of the service's signer (plain HMAC-SHA256).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    /// <summary>One request as received.</summary>
    public sealed record Received(string Id, long Timestamp, string Signature, string ContentType, string Body, int Status)
    {
        public JsonNode Json => JsonNode.Parse(Body)!;
        public string Type => (string)Json["type"]!;
        public JsonNode Data => Json["data"]!;
    }

    private readonly ConcurrentQueue<Received> _requests = new();
    private WebApplication _app = null!;
    private int _count;

    /// <summary>The status to answer the n-th request (1-based) with; 204 by default.</summary>
    public Func<int, Received, int> Answer { get; set; } = (_, _) => 204;

    public string Url { get; private set; } = "";

    /// <summary>Every request so far, in arrival order.</summary>
    public IReadOnlyList<Received> Requests => [.. _requests];

    /// <summary>The requests answered with a 2xx, in arrival order.</summary>
    public IReadOnlyList<Received> Accepted => [.. _requests.Where(r => r.Status is >= 200 and < 300)];

    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/hook", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync();
            var n = Interlocked.Increment(ref receiver._count);
            var seen = new Received(http.Request.Headers["webhook-id"].ToString(), long.Parse(http.Request.Headers["webhook-timestamp"].ToString(), System.Globalization.CultureInfo.InvariantCulture),
                http.Request.Headers["webhook-signature"].ToString(), http.Request.ContentType ?? "", body, 0);
            var status = receiver.Answer(n, seen);
            receiver._requests.Enqueue(seen with { Status = status });
            return Results.StatusCode(status);
        });
        await app.StartAsync();
        receiver._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = address + "/hook";
        return receiver;
    }

    /// <summary>An independent check of a Standard Webhooks signature: HMAC-SHA256 over "{id}.{timestamp}.{body}" with the secret's bytes.</summary>
    public static bool SignatureIsValid(string secret, Received r)
    {
        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, System.Text.Encoding.UTF8.GetBytes($"{r.Id}.{r.Timestamp}.{r.Body}")));
        return r.Signature.Split(' ').Any(s => CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(s), System.Text.Encoding.UTF8.GetBytes(expected)));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
