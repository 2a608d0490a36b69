using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Smpc.Gateway.Tests.Attacks;

/// <summary>What the gateway answered: the status and, for a problem, its type, title and detail.</summary>
internal sealed record Answer(HttpStatusCode Status, string? Type, string? Title, string? Detail, string? RetryAfter, string Body)
{
    /// <summary>Status, type and title: what a client may branch on, and what must not tell existing ids from missing ones.</summary>
    public (HttpStatusCode, string?, string?) Shape => (Status, Type, Title);

    public override string ToString() => $"{(int)Status} {Type} '{Title}' {Detail}";
}

/// <summary>Requests as an attacker sends them: any method, path, credential, content type and body, through HttpClient or a raw socket.</summary>
internal static class AttackHttp
{
    public static async Task<Answer> SendAsync(HttpClient http, HttpMethod method, string path, string? key, HttpContent? content = null, bool expectContinue = false)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/')) { Content = content };
        if (expectContinue) request.Headers.ExpectContinue = true;
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var retryAfter = response.Headers.RetryAfter?.Delta is { } delta ? ((int)delta.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        return Parse(response.StatusCode, retryAfter, body);
    }

    public static Answer Parse(HttpStatusCode status, string? retryAfter, string body)
    {
        string? type = null, title = null, detail = null;
        if (body.StartsWith('{'))
        {
            try
            {
                using var json = JsonDocument.Parse(body);
                type = Text(json.RootElement, "type");
                title = Text(json.RootElement, "title");
                detail = Text(json.RootElement, "detail");
            }
            catch (JsonException)
            {
                // not a problem body: only the status counts
            }
        }

        return new Answer(status, type, title, detail, retryAfter, body);

        static string? Text(JsonElement root, string name) =>
            root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }

    public static ByteArrayContent Bytes(byte[] bytes, string? contentType = "application/octet-stream")
    {
        var content = new ByteArrayContent(bytes);
        if (contentType is not null) content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    public static StringContent Text(string text, string? contentType)
    {
        var content = new StringContent(text, Encoding.UTF8);
        content.Headers.ContentType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    /// <summary>
    /// Sends a request over a raw socket: the head with <paramref name="declaredLength"/>, then <paramref name="sent"/> bytes
    /// of body, then (with <paramref name="endBody"/>) closes the sending side. Returns the answer, or null if the
    /// connection closed without one; fails if nothing arrives within <paramref name="timeout"/>.
    /// </summary>
    public static async Task<Answer?> RawAsync(
        HttpClient http, string method, string path, string? key, string? contentType, long declaredLength, byte[] sent, bool endBody, TimeSpan timeout)
    {
        var address = http.BaseAddress!;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        await using var stream = tcp.GetStream();
        var request = new StringBuilder()
            .Append(method).Append(' ').Append('/').Append(path.TrimStart('/')).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(address.Authority).Append("\r\n")
            .Append("Connection: close\r\n")
            .Append("Content-Length: ").Append(declaredLength).Append("\r\n");
        if (key is not null) request.Append("Authorization: Bearer ").Append(key).Append("\r\n");
        if (contentType is not null) request.Append("Content-Type: ").Append(contentType).Append("\r\n");
        request.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()));
        await stream.WriteAsync(sent);
        await stream.FlushAsync();
        if (endBody) tcp.Client.Shutdown(SocketShutdown.Send);

        using var cancel = new CancellationTokenSource(timeout);
        var received = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer, cancel.Token);
                if (read == 0) break;
                received.Write(buffer, 0, read);
                if (Complete(received.ToArray())) break;
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Assert.Fail($"{method} {path}: no answer within {timeout.TotalSeconds} s (the gateway waited for the body).");
        }
        catch (IOException)
        {
            // reset by the server after (or instead of) its answer
        }

        var data = received.ToArray();
        var split = HeadEnd(data);
        var head = Encoding.ASCII.GetString(data, 0, split < 0 ? data.Length : split);
        if (!head.StartsWith("HTTP/1.1 ", StringComparison.Ordinal)) return null;
        var status = (HttpStatusCode)int.Parse(head.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
        var retryAfter = Header(head, "Retry-After");
        var body = split < 0 ? [] : Dechunk(head, data[(split + 4)..]);
        return Parse(status, retryAfter, Encoding.UTF8.GetString(body));
    }

    private static int HeadEnd(byte[] data) => data.AsSpan().IndexOf("\r\n\r\n"u8);

    private static string? Header(string head, string name) =>
        head.Split("\r\n").FirstOrDefault(h => h.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))?[(name.Length + 1)..].Trim();

    /// <summary>True once a whole response (head and a Content-Length or chunked body) has arrived.</summary>
    private static bool Complete(byte[] data)
    {
        var split = HeadEnd(data);
        if (split < 0) return false;
        var head = Encoding.ASCII.GetString(data, 0, split);
        var bodyLength = data.Length - split - 4;
        if (Header(head, "Content-Length") is { } length) return bodyLength >= long.Parse(length, System.Globalization.CultureInfo.InvariantCulture);
        return Header(head, "Transfer-Encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase) && data.AsSpan().EndsWith("0\r\n\r\n"u8);
    }

    private static byte[] Dechunk(string head, byte[] body)
    {
        if (Header(head, "Transfer-Encoding") is not { } te || !te.Contains("chunked", StringComparison.OrdinalIgnoreCase)) return body;
        var result = new MemoryStream();
        var at = 0;
        while (at < body.Length)
        {
            var end = body.AsSpan(at).IndexOf("\r\n"u8);
            if (end < 0) break;
            var size = Convert.ToInt32(Encoding.ASCII.GetString(body, at, end).Split(';')[0], 16);
            if (size == 0) break;
            result.Write(body, at + end + 2, Math.Min(size, body.Length - at - end - 2));
            at += end + 2 + size + 2;
        }

        return result.ToArray();
    }
}
