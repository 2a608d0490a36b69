using Microsoft.AspNetCore.Diagnostics;
using Orleans.Runtime;
using Smpc.Client.Contracts;
using Smpc.Grains.Interfaces.Errors;

namespace Smpc.ApiGateway.Problems;

/// <summary>Turns exceptions that escape an endpoint into problem responses.</summary>
public sealed class SmpcExceptionHandler(IProblemDetailsService problems, ILogger<SmpcExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, type, title, detail) = exception switch
        {
            SmpcException e => Describe(e),
            BadHttpRequestException e => (e.StatusCode, ProblemMapping.TypeForStatus(e.StatusCode), "Bad request", e.Message),
            Hosting.QuotaExceededException e => (StatusCodes.Status429TooManyRequests, ProblemTypes.QuotaExceeded, "Quota exceeded", e.Message),
            // The cluster cannot be reached or did not answer in time: the request may be retried.
            SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or Orleans.Runtime.Messaging.ConnectionFailedException or GatewayTooBusyException =>
                (StatusCodes.Status503ServiceUnavailable, ProblemTypes.ServiceUnavailable, "Service unavailable", "The cluster is not reachable right now; retry later."),
            // The database failed outside a grain call (e.g. loading a grain's state on activation): retriable too.
            _ when IsStorageFailure(exception) =>
                (StatusCodes.Status503ServiceUnavailable, ProblemTypes.StorageUnavailable, "Storage unavailable", "The service's database is not reachable right now; retry later."),
            _ => (StatusCodes.Status500InternalServerError, ProblemTypes.Internal, "Internal error", "An unexpected error occurred."),
        };
        if (status >= 500) logger.LogError(exception, "Request failed with {Status}", status);

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
