using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Smpc.ApiGateway.Problems;

namespace Smpc.ApiGateway.Hosting;

/// <summary>
/// Kestrel answers requests it cannot parse (a NUL in the request line, duplicate or negative Content-Length, malformed
/// headers) itself, before any middleware runs, with an empty body and none of our headers. This connection middleware
/// rewrites exactly those answers into RFC 9457 problems with the security headers, so every response has one shape.
/// </summary>
/// <remarks>
/// Such an answer is recognisable: it is a whole 4xx/5xx header block written in one flush, with <c>Content-Length: 0</c>
/// and <c>Connection: close</c>, and without <c>X-Content-Type-Options</c>, which every response of the gateway itself
/// carries (SecurityHeaders). Everything else passes through unchanged (plaintext HTTP/1.1 only; TLS and HTTP/2 bytes
/// never match).
/// </remarks>
internal static class KestrelRejections
{
    /// <summary>Adds the rewriting to every endpoint Kestrel listens on.</summary>
    public static void Use(KestrelServerOptions options) => options.ConfigureEndpointDefaults(listen => listen.Use(next => async connection =>
    {
        var transport = connection.Transport;
        var writer = new RewritingWriter(transport.Output);
        connection.Transport = new Duplex(transport.Input, writer);
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = transport;
        }
    }));

    /// <summary>The problem response that replaces a bare Kestrel rejection, or null when <paramref name="head"/> is not one.</summary>
    internal static byte[]? Rewrite(ReadOnlySpan<byte> head)
    {
        if (head.Length is < 16 or > 2048 || !head.StartsWith("HTTP/1.1 "u8) || !head.EndsWith("\r\n\r\n"u8)) return null;
        if (head[9] is not ((byte)'4' or (byte)'5')) return null;
        var text = Encoding.ASCII.GetString(head);
        if (text.IndexOf("\r\n\r\n", StringComparison.Ordinal) != text.Length - 4) return null; // one header block, no body
        if (!text.Contains("\r\nContent-Length: 0\r\n", StringComparison.OrdinalIgnoreCase)
            || !text.Contains("\r\nConnection: close\r\n", StringComparison.OrdinalIgnoreCase)
            || text.Contains("\r\nX-Content-Type-Options:", StringComparison.OrdinalIgnoreCase)) return null;
        if (!int.TryParse(text.AsSpan(9, 3), out var status)) return null;

        var detail = status switch
        {
            StatusCodes.Status400BadRequest => "The request could not be parsed (malformed request line, headers or framing).",
            StatusCodes.Status408RequestTimeout => "The request was not received in time.",
            StatusCodes.Status413PayloadTooLarge => "The request body is larger than this route accepts.",
            StatusCodes.Status414UriTooLong => "The request target is too long.",
            StatusCodes.Status431RequestHeaderFieldsTooLarge => "The request headers are too large.",
            _ => "The request could not be processed.",
        };
        var body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["type"] = ProblemMapping.TypeForStatus(status),
            ["title"] = ProblemMapping.TitleForStatus(status),
            ["status"] = status,
            ["detail"] = detail,
        });
        var statusLine = text[..text.IndexOf("\r\n", StringComparison.Ordinal)];
        var date = text.Split("\r\n").FirstOrDefault(l => l.StartsWith("Date:", StringComparison.OrdinalIgnoreCase));
        var response = new StringBuilder()
            .Append(statusLine).Append("\r\n")
            .Append("Content-Type: application/problem+json\r\n")
            .Append("Content-Length: ").Append(body.Length).Append("\r\n")
            .Append("Connection: close\r\n");
        if (date is not null) response.Append(date).Append("\r\n");
        foreach (var (name, value) in SecurityHeaders.All) response.Append(name).Append(": ").Append(value).Append("\r\n");
        response.Append("\r\n");
        return [.. Encoding.ASCII.GetBytes(response.ToString()), .. body];
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>Collects what is written until a flush; a flush that holds just a Kestrel rejection is rewritten.</summary>
    private sealed class RewritingWriter(PipeWriter inner) : PipeWriter
    {
        private ArrayBufferWriter<byte> _pending = new(4096);

        public override bool CanGetUnflushedBytes => true;

        public override long UnflushedBytes => _pending.WrittenCount + (inner.CanGetUnflushedBytes ? inner.UnflushedBytes : 0);

        public override void Advance(int bytes) => _pending.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => _pending.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => _pending.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null)
        {
            MovePending();
            inner.Complete(exception);
        }

        public override async ValueTask CompleteAsync(Exception? exception = null)
        {
            MovePending();
            await inner.FlushAsync();
            await inner.CompleteAsync(exception);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            MovePending();
            return inner.FlushAsync(cancellationToken);
        }

        private void MovePending()
        {
            if (_pending.WrittenCount == 0) return;
            var written = _pending.WrittenSpan;
            if (Rewrite(written) is { } problem) inner.Write(problem);
            else inner.Write(written);
            // Large downloads pass through here too: do not keep a huge buffer for the rest of the connection.
            if (_pending.Capacity > 1 << 20) _pending = new(4096);
            else _pending.ResetWrittenCount();
        }
    }
}
