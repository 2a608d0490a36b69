using System.Globalization;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Diagnostics;

namespace Smpc.ApiGateway.Hosting;

/// <summary>
/// Limits per client address, before authentication: a request rate, and a failed-authentication budget that, once
/// spent, refuses requests carrying a key before the key is looked up.
/// </summary>
public static class AddressRateLimits
{
    /// <summary>
    /// The per-address limits, before authentication: every request counts against its address's bucket, and an address
    /// whose failed-authentication budget is spent gets 429 for any request that presents a key, before the key is looked up.
    /// So a flood of random keys activates at most the budget's worth of credential grains per address.
    /// </summary>
    public static WebApplication UseSmpcAddressLimit(this WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            var guard = http.RequestServices.GetRequiredService<AddressRateLimiter>();
            var refusal = guard.Admit(http);
            if (refusal is null)
            {
                await next(http);
                return;
            }

            var (retry, detail) = refusal.Value;
            SmpcTelemetry.RateLimitRejections.Add(1, new KeyValuePair<string, object?>(SmpcTelemetry.LimiterTag, "address"));
            http.Response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
            await Problems.ProblemMapping.Problem(StatusCodes.Status429TooManyRequests, ProblemTypes.TooManyRequests, "Too many requests", detail).ExecuteAsync(http);
        });
        return app;
    }
}
