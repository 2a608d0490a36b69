using Microsoft.AspNetCore.Diagnostics;
using Orleans.Runtime;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Errors;

namespace Smpc.ApiGateway.Problems;

/// <summary>Turns exceptions that escape an endpoint into problem responses.</summary>
public sealed class SmpcExceptionHandler(IProblemDetailsService problems, ILogger<SmpcExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (httpContext.RequestAborted.IsCancellationRequested && exception is OperationCanceledException or IOException or BadHttpRequestException
            || exception is Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
            // The client went away (e.g. an upload it aborted): nothing can be answered and nothing failed on our side.
            logger.LogDebug("The client closed the connection before the request completed.");
            httpContext.Response.StatusCode = 499;
            return true;
        }

        var (status, type, title, detail) = exception switch
        {
            SmpcException e => Describe(e),
            BadHttpRequestException e => (e.StatusCode, ProblemMapping.TypeForStatus(e.StatusCode), ProblemMapping.TitleForStatus(e.StatusCode), BadRequestDetail(e)),
            Hosting.QuotaExceededException e => (StatusCodes.Status429TooManyRequests, ProblemTypes.QuotaExceeded, "Quota exceeded", e.Message),
            // The cluster cannot be reached or did not answer in time: the request may be retried.
            SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or Orleans.Runtime.Messaging.ConnectionFailedException or GatewayTooBusyException =>
                (StatusCodes.Status503ServiceUnavailable, ProblemTypes.ServiceUnavailable, "Service unavailable", "The cluster is not reachable right now; retry later."),
            // The database failed outside a grain call (e.g. loading a grain's state on activation): retriable too.
            _ when IsStorageFailure(exception) =>
                (StatusCodes.Status503ServiceUnavailable, ProblemTypes.StorageUnavailable, "Storage unavailable", "The service's database is not reachable right now; retry later."),
            _ => (StatusCodes.Status500InternalServerError, ProblemTypes.Internal, "Internal error", "An unexpected error occurred."),
        };
        if (status >= 500) logger.LogError("Request {Method} {Route} failed with {Status}: {Error}", httpContext.Request.Method,
            ProblemMapping.Redact(httpContext.GetEndpoint()?.DisplayName ?? httpContext.Request.Path.Value), status, ProblemMapping.Redact(exception.ToString()));

        httpContext.Response.StatusCode = status;
        if (exception is Hosting.QuotaExceededException quota)
            httpContext.Response.Headers.RetryAfter = quota.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Type = type, Title = title, Detail = detail },
        });
    }

    /// <summary>
    /// Our own wording for a request the framework could not read: parameter-binding messages name .NET types and
    /// parameters ("Implicit body inferred for parameter …"), which say nothing to an API user.
    /// </summary>
    private static string BadRequestDetail(BadHttpRequestException e)
    {
        if (e.StatusCode == StatusCodes.Status413PayloadTooLarge) return "The request body is larger than this route accepts.";
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Text.Json.JsonException json)
                return json.Path is { Length: > 0 } path ? $"The request body is not valid JSON for this route (at {path})." : "The request body is not valid JSON for this route.";
        }

        if (e.Message.StartsWith("Implicit body inferred", StringComparison.Ordinal) || e.Message.StartsWith("Required parameter", StringComparison.Ordinal))
            return "This route needs a JSON request body (Content-Type: application/json).";
        if (e.Message.StartsWith("Failed to read parameter", StringComparison.Ordinal) || e.Message.StartsWith("Failed to bind parameter", StringComparison.Ordinal))
            return "A route or query value, or the request body, has the wrong form for this route.";
        if (e.Message.StartsWith("Expected a supported JSON media type", StringComparison.Ordinal))
            return "This route takes a JSON body: send Content-Type: application/json.";
        return e.StatusCode == StatusCodes.Status400BadRequest ? "The request could not be read." : e.Message;
    }

    /// <summary>A database error anywhere in the chain (silos and gateways serialize Npgsql exceptions, see ClusterSerialization).</summary>
    private static bool IsStorageFailure(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
            if (e is System.Data.Common.DbException or Orleans.Storage.InconsistentStateException) return true;
        return false;
    }

    private static (int, string, string, string) Describe(SmpcException e)
    {
        var result = ProblemMapping.From(e).ProblemDetails;
        return (result.Status!.Value, result.Type!, result.Title!, result.Detail!);
    }
}
