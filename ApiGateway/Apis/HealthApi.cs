using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Smpc.ApiGateway.Hosting;
using Smpc.ApiGateway.Problems;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;

namespace Smpc.ApiGateway.Apis;

/// <summary>Liveness (the process answers) and readiness (the cluster answers and its storage is reachable).</summary>
public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        var health = app.MapGroup("/health").WithTags("Health");
        health.MapGet("/live", () => TypedResults.Ok(new HealthResponse("live", null)))
            .WithName("Live").WithSummary("Answers while the process runs.");
        health.MapGet("/ready", ReadyAsync)
            .WithName("Ready").WithSummary("Answers 200 when a grain call and a storage round trip succeed, 503 otherwise.")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<Results<Ok<HealthResponse>, ProblemHttpResult>> ReadyAsync(
        IGrainFactory grains, IOptions<RestGatewayOptions> options, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        try
        {
            var storage = await grains.GetGrain<IHealthGrain>(0).CheckAsync().WaitAsync(options.Value.ReadinessTimeout, cancellationToken);
            return TypedResults.Ok(new HealthResponse("ready", storage));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            loggers.CreateLogger(typeof(HealthApi)).LogWarning("Readiness check failed: {Reason}", ex.Message);
            var type = ex is SmpcException { Code: SmpcErrorCode.StorageUnavailable } ? ProblemTypes.StorageUnavailable : ProblemTypes.ServiceUnavailable;
            return ProblemMapping.Problem(StatusCodes.Status503ServiceUnavailable, type, "Not ready", ex.Message);
        }
    }
}
