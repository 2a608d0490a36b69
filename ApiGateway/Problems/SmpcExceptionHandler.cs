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

    private static (int, string, string, string) Describe(SmpcException e)
    {
        var result = ProblemMapping.From(e).ProblemDetails;
        return (result.Status!.Value, result.Type!, result.Title!, result.Detail!);
    }
}
