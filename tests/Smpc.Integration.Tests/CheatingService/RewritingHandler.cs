using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Smpc.Contracts;

namespace Smpc.Integration.Tests.CheatingService;

/// <summary>
/// A cheating service as one party sees it: a handler in that party's <c>SmpcClient</c> pipeline that rewrites what the
/// real service answers (sessions, modeller registrations) and records every request the party makes, so a test can
/// assert that nothing secret-dependent left it. Add attacks by setting the rewrite functions.
/// </summary>
internal sealed class RewritingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Rewrites every session the party reads (GET …/sessions/{id}, long polls included); null: unchanged.</summary>
    public Func<SessionResponse, SessionResponse>? Session { get; set; }

    /// <summary>Rewrites every modeller the party reads (GET …/modellers/{id}); null: unchanged.</summary>
    public Func<MemberResponse, MemberResponse>? Modeller { get; set; }

    /// <summary>Rewrites every federated release the party downloads (name, bytes as stored → bytes served); null: unchanged.</summary>
    public Func<string, byte[], byte[]>? Release { get; set; }

    /// <summary>Every request the party made: method and path.</summary>
    public ConcurrentQueue<(string Method, string Path)> Requests { get; } = new();

    /// <summary>The requests that carry protocol content (anything written except a decline).</summary>
    public IReadOnlyList<(string Method, string Path)> ProtocolWrites() =>
        [.. Requests.Where(r => r.Method is "POST" or "PUT" && !r.Path.EndsWith("/decline", StringComparison.Ordinal))];

    /// <summary>Whether the party declined (told the service it will not take part).</summary>
    public bool Declined => Requests.Any(r => r.Method == "POST" && r.Path.EndsWith("/decline", StringComparison.Ordinal));

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        Requests.Enqueue((request.Method.Method, path));
        var response = await base.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode) return response;
        var segments = path.Trim('/').Split('/');
        // The session as created (POST v1/tenants/{t}/sessions) is what the modeller checks against its own request.
        if (request.Method == HttpMethod.Post && segments.Length == 4 && segments[3] == "sessions" && Session is { } rewriteCreated)
            return await RewriteAsync(response, rewriteCreated, cancellationToken);
        if (request.Method != HttpMethod.Get) return response;
        // v1/tenants/{t}/sessions/{id} and v1/tenants/{t}/modellers/{id}
        if (segments.Length == 5 && segments[3] == "sessions" && Session is { } rewriteSession)
            return await RewriteAsync(response, rewriteSession, cancellationToken);
        if (segments.Length == 5 && segments[3] == "modellers" && Modeller is { } rewriteModeller)
            return await RewriteAsync(response, rewriteModeller, cancellationToken);
        // v1/tenants/{t}/sessions/{id}/federated/releases/{name}: served whole, without the digest header a real service sends.
        if (segments.Length == 8 && segments[5] == "federated" && segments[6] == "releases" && Release is { } rewriteRelease)
        {
            var stored = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var served = new HttpResponseMessage(response.StatusCode) { RequestMessage = response.RequestMessage, Content = new ByteArrayContent(rewriteRelease(Uri.UnescapeDataString(segments[7]), stored)) };
            response.Dispose();
            return served;
        }
        return response;
    }

    private static async Task<HttpResponseMessage> RewriteAsync<T>(HttpResponseMessage response, Func<T, T> rewrite, CancellationToken ct)
    {
        var value = await response.Content.ReadFromJsonAsync<T>(Json, ct);
        var rewritten = new HttpResponseMessage(response.StatusCode) { RequestMessage = response.RequestMessage, Content = JsonContent.Create(rewrite(value!), options: Json) };
        response.Dispose();
        return rewritten;
    }
}
