using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;

namespace Smpc.ApiGateway.Problems;

/// <summary>Maps every failure to an RFC 9457 problem with a stable type.</summary>
public static partial class ProblemMapping
{
    /// <summary>Seconds a client should wait before retrying after a 503.</summary>
    public const int RetryAfterSeconds = 2;

    /// <summary>The problem for a domain error raised by a grain.</summary>
    public static ProblemHttpResult From(SmpcException error) => error.Code switch
    {
        SmpcErrorCode.NotFound => Problem(StatusCodes.Status404NotFound, ProblemTypes.NotFound, "Not found", error.Message),
        SmpcErrorCode.Conflict => Problem(StatusCodes.Status409Conflict, ProblemTypes.Conflict, "Conflict", error.Message),
        SmpcErrorCode.Validation => Problem(StatusCodes.Status400BadRequest, ProblemTypes.Validation, "Invalid request", error.Message),
        SmpcErrorCode.UnsupportedVersion => Problem(StatusCodes.Status400BadRequest, ProblemTypes.UnsupportedProtocolVersion, "Unsupported protocol version", error.Message),
        SmpcErrorCode.WrongPhase => Problem(StatusCodes.Status409Conflict, ProblemTypes.WrongPhase, "Not allowed in this phase", error.Message),
        SmpcErrorCode.TooLarge => Problem(StatusCodes.Status413PayloadTooLarge, ProblemTypes.PayloadTooLarge, "Payload too large", error.Message),
        SmpcErrorCode.Unauthenticated => Problem(StatusCodes.Status401Unauthorized, ProblemTypes.Unauthenticated, "Unauthenticated", error.Message),
        SmpcErrorCode.Forbidden => Problem(StatusCodes.Status403Forbidden, ProblemTypes.Forbidden, "Forbidden", error.Message),
        SmpcErrorCode.StorageUnavailable => Problem(StatusCodes.Status503ServiceUnavailable, ProblemTypes.StorageUnavailable, "Storage unavailable", error.Message),
        _ => Problem(StatusCodes.Status500InternalServerError, ProblemTypes.Internal, "Internal error", "An unexpected error occurred."),
    };

    /// <summary>A problem result with a stable type.</summary>
    public static ProblemHttpResult Problem(int status, string type, string title, string? detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, type: type);

    /// <summary>The stable type for a bare status code (routing, binding and server failures).</summary>
    public static string TypeForStatus(int status) => status switch
    {
        StatusCodes.Status400BadRequest or StatusCodes.Status408RequestTimeout or StatusCodes.Status411LengthRequired
            or StatusCodes.Status414UriTooLong or StatusCodes.Status431RequestHeaderFieldsTooLarge => ProblemTypes.MalformedRequest,
        StatusCodes.Status401Unauthorized => ProblemTypes.Unauthenticated,
        StatusCodes.Status403Forbidden => ProblemTypes.Forbidden,
        StatusCodes.Status404NotFound => ProblemTypes.RouteNotFound,
        StatusCodes.Status405MethodNotAllowed => ProblemTypes.MethodNotAllowed,
        StatusCodes.Status409Conflict => ProblemTypes.Conflict,
        StatusCodes.Status413PayloadTooLarge => ProblemTypes.PayloadTooLarge,
        StatusCodes.Status415UnsupportedMediaType => ProblemTypes.UnsupportedMediaType,
        StatusCodes.Status429TooManyRequests => ProblemTypes.TooManyRequests,
        StatusCodes.Status503ServiceUnavailable => ProblemTypes.ServiceUnavailable,
        _ => ProblemTypes.Internal,
    };

    /// <summary>Our title for a bare status code, whoever produced the response.</summary>
    public static string TitleForStatus(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "Bad request",
        StatusCodes.Status401Unauthorized => "Unauthenticated",
        StatusCodes.Status403Forbidden => "Forbidden",
        StatusCodes.Status404NotFound => "Not found",
        StatusCodes.Status405MethodNotAllowed => "Method not allowed",
        StatusCodes.Status408RequestTimeout => "Request timeout",
        StatusCodes.Status409Conflict => "Conflict",
        StatusCodes.Status411LengthRequired => "Length required",
        StatusCodes.Status413PayloadTooLarge => "Payload too large",
        StatusCodes.Status414UriTooLong => "URI too long",
        StatusCodes.Status415UnsupportedMediaType => "Unsupported media type",
        StatusCodes.Status429TooManyRequests => "Too many requests",
        StatusCodes.Status431RequestHeaderFieldsTooLarge => "Request headers too large",
        StatusCodes.Status503ServiceUnavailable => "Service unavailable",
        _ => status >= 500 ? "Internal error" : "Bad request",
    };

    /// <summary>
    /// Replaces anything that looks like an API key (<c>smpc_…</c>) with a placeholder: a key pasted into a URL or body must
    /// not come back in a problem, nor reach a log.
    /// </summary>
    public static string? Redact(string? text) => text is null ? null : KeyLike().Replace(text, "smpc_[redacted]");

    [System.Text.RegularExpressions.GeneratedRegex("smpc_[A-Za-z0-9_-]+", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex KeyLike();

    /// <summary>Counts a problem answered in <see cref="SmpcTelemetry.HttpProblems"/>, by its type's last segment (a fixed set: ours) and status.</summary>
    private static void Count(string type, int status)
    {
        var name = type.StartsWith(ProblemTypes.Base, StringComparison.Ordinal) ? type[ProblemTypes.Base.Length..] : "other";
        SmpcTelemetry.HttpProblems.Add(1, new KeyValuePair<string, object?>(SmpcTelemetry.ProblemTypeTag, name),
            new KeyValuePair<string, object?>("http.response.status_code", status));
    }

    /// <summary>Fills in a stable type where ASP.NET produced a generic problem, redacts key-like text, and adds the trace id.</summary>
    public static void Customize(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        problem.Detail = Redact(problem.Detail);
        var status = problem.Status ?? context.HttpContext.Response.StatusCode;
        if (problem.Type is null || problem.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
            problem.Type = TypeForStatus(status);
        problem.Extensions["traceId"] = System.Diagnostics.Activity.Current?.TraceId.ToString() ?? context.HttpContext.TraceIdentifier;
        Count(problem.Type, status);
        if (status == StatusCodes.Status503ServiceUnavailable)
            context.HttpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
