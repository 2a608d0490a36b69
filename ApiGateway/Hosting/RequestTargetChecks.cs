namespace Smpc.ApiGateway.Hosting;

/// <summary>
/// Request targets the gateway refuses before routing, with a problem: too long, dot segments, control characters, and
/// API keys pasted into a URL.
/// </summary>
public static class RequestTargetChecks
{
    /// <summary>The longest request line Kestrel reads; the gateway itself refuses targets over <see cref="MaxTargetChars"/>.</summary>
    public const int MaxRequestLineBytes = 64 * 1024;

    /// <summary>The longest request target (path and query) the gateway accepts.</summary>
    public const int MaxTargetChars = 4096;

    /// <summary>
    /// Refuses request targets the router would otherwise normalise or choke on, with a problem: dot segments (<c>/.</c>,
    /// <c>/..</c>, also percent-encoded), which Kestrel resolves before routing and would mislead a path-prefix proxy in
    /// front; NUL or other control characters; targets over <see cref="MaxTargetChars"/>; and API keys pasted into a URL
    /// (refused before routing, so neither a problem nor the router's debug log repeats them).
    /// </summary>
    public static WebApplication UseSmpcTargetChecks(this WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            var raw = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? http.Request.Path.Value ?? "";
            var problem = TargetProblem(raw);
            if (problem is null)
            {
                await next(http);
                return;
            }

            var (status, detail) = problem.Value;
            await Problems.ProblemMapping.Problem(status, Problems.ProblemMapping.TypeForStatus(status), Problems.ProblemMapping.TitleForStatus(status), detail).ExecuteAsync(http);
        });
        return app;
    }

    /// <summary>Why a raw request target is refused, or null.</summary>
    internal static (int Status, string Detail)? TargetProblem(string raw)
    {
        if (raw.Length > MaxTargetChars) return (StatusCodes.Status414UriTooLong, $"Request targets are limited to {MaxTargetChars} characters.");
        // No id contains '_', so "smpc_…" in a target is a pasted API key: refused before routing, never echoed.
        if (raw.Contains("smpc_", StringComparison.OrdinalIgnoreCase) || raw.Contains("smpc%5f", StringComparison.OrdinalIgnoreCase))
            return (StatusCodes.Status400BadRequest, "The URL holds what looks like an API key. Keys belong in the Authorization header only; rotate a key that was sent in a URL.");
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? raw : raw[..query];
        string decoded;
        try
        {
            decoded = Uri.UnescapeDataString(path);
        }
        catch (UriFormatException)
        {
            return (StatusCodes.Status400BadRequest, "The request path is not valid percent-encoding.");
        }

        if (decoded.Any(char.IsControl)) return (StatusCodes.Status400BadRequest, "The request path contains control characters.");
        foreach (var segment in decoded.Split('/'))
            if (segment is "." or "..") return (StatusCodes.Status400BadRequest, "The request path contains a '.' or '..' segment; send the path as it is meant.");
        return null;
    }
}
