using System.Text;
using Microsoft.AspNetCore.Authentication;
using Orleans.Dashboard;
using Orleans.Runtime;
using Smpc.ApiGateway.Problems;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Access;

namespace Smpc.ApiGateway.Hosting;

/// <summary>
/// The Orleans Dashboard on the REST gateway, operator only. In an Orleans client process (the standalone gateway) the
/// dashboard's client side is added here; in a silo process the silo registers it (<c>Smpc.Silo.Hosting.DashboardHostingExtensions</c>).
/// Every request at or below the dashboard path needs the operator key, as a Bearer token or as the HTTP Basic password.
/// </summary>
public static class DashboardGatewayExtensions
{
    /// <summary>The authorization policy of the dashboard's endpoints.</summary>
    public const string OperatorPolicy = "smpc-dashboard-operator";

    /// <summary>The realm browsers show when they prompt for the operator key.</summary>
    public const string BasicRealm = "smpc-dashboard";

    /// <summary>
    /// The dashboard page loads its module script, stylesheet and fonts from itself, polls its JSON API, sets inline styles
    /// and shows data: images; nothing else is allowed (no inline or evaluated script, no framing, no other origin).
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>Options, the operator policy and, in an Orleans client process, the dashboard's client services.</summary>
    public static IHostApplicationBuilder AddSmpcDashboard(this IHostApplicationBuilder builder)
    {
        var options = SmpcDashboardOptions.From(builder.Configuration);
        builder.Services.AddSingleton(options);
        builder.Services.AddAuthorizationBuilder().AddPolicy(OperatorPolicy, p => p.RequireRole(nameof(CallerRole.Operator)));
        // A silo in this process registers the dashboard itself (and UseOrleansClient would refuse to run beside it).
        if (options.Enabled && !builder.Services.Any(d => d.ServiceType == typeof(ILocalSiloDetails)))
            builder.UseOrleansClient(client => client.AddDashboard());
        return builder;
    }

    /// <summary>Maps the dashboard at its path, operator only and left out of the OpenAPI document. Call after UseAuthorization.</summary>
    public static WebApplication MapSmpcDashboard(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<SmpcDashboardOptions>();
        if (!options.Enabled) return app;

        // The guard covers every path below the prefix, routed or not; the policy below covers the routed endpoints too.
        var grainState = new PathString(options.Path + "/GrainState");
        app.Use(async (http, next) =>
        {
            if (!IsDashboardRequest(http))
            {
                await next(http);
                return;
            }

            if (http.User.Identity?.IsAuthenticated != true) await http.ChallengeAsync();
            else if (!http.User.IsInRole(nameof(CallerRole.Operator))) await http.ForbidAsync();
            else if (!options.AllowGrainState && http.Request.Path.StartsWithSegments(grainState, StringComparison.OrdinalIgnoreCase))
                await ProblemMapping.Problem(StatusCodes.Status404NotFound, ProblemTypes.RouteNotFound, "Not found",
                    $"The dashboard's grain-state view is off ({SmpcDashboardOptions.Section}:AllowGrainState).").ExecuteAsync(http);
            else await next(http);
        });
        app.MapOrleansDashboard(options.Path).RequireAuthorization(OperatorPolicy).ExcludeFromDescription();
        return app;
    }

    /// <summary>Whether the request is for the (enabled) dashboard: at or below its path.</summary>
    public static bool IsDashboardRequest(HttpContext http) =>
        http.RequestServices.GetService<SmpcDashboardOptions>() is { Enabled: true } options
        && http.Request.Path.StartsWithSegments(options.Path, StringComparison.OrdinalIgnoreCase);

    /// <summary>The password of an <c>Authorization: Basic …</c> header (RFC 7617; the user name is ignored), or null if malformed.</summary>
    public static string? BasicPassword(string header)
    {
        const string scheme = "Basic ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return null;
        var encoded = header[scheme.Length..].Trim();
        var bytes = new byte[(encoded.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64String(encoded, bytes, out var length)) return null;
        var pair = Encoding.UTF8.GetString(bytes, 0, length);
        var colon = pair.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? null : pair[(colon + 1)..];
    }
}
