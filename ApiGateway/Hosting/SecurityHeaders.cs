using Microsoft.Extensions.Options;

namespace Smpc.ApiGateway.Hosting;

/// <summary>
/// The security headers every response carries, and CORS only for the origins configured in <c>Smpc:Gateway:Cors:Origins</c>
/// (none by default: no CORS headers at all).
/// </summary>
public static class SecurityHeaders
{
    private const string CorsPolicy = "smpc-cors";

    /// <summary>The headers every response carries (the dashboard's pages get their own Content-Security-Policy).</summary>
    public static readonly IReadOnlyList<(string Name, string Value)> All =
    [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Cache-Control", "no-store"), // keys are shown once; nothing here belongs in a cache
    ];

    /// <summary>Binds <see cref="GatewayCorsOptions"/> and, when origins are configured, registers their CORS policy.</summary>
    public static IHostApplicationBuilder AddSmpcCors(this IHostApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(GatewayCorsOptions.Section);
        builder.Services.Configure<GatewayCorsOptions>(section);
        var origins = section.Get<GatewayCorsOptions>()?.Origins ?? [];
        if (origins.Length > 0)
            builder.Services.AddCors(o => o.AddPolicy(CorsPolicy, p => p.WithOrigins(origins).WithHeaders("Authorization", "Content-Type")
                .WithMethods("GET", "POST", "PUT", "DELETE").WithExposedHeaders("Retry-After", "Repr-Digest")));
        return builder;
    }

    /// <summary>Security headers and CORS: before anything else answers.</summary>
    public static WebApplication UseSmpcSecurityHeaders(this WebApplication app)
    {
        app.Use((http, next) =>
        {
            http.Response.OnStarting(() =>
            {
                var headers = http.Response.Headers;
                foreach (var (name, value) in All) headers[name] = value;
                // The API serves no documents; the operator's dashboard and the tenant console are pages and get only what they need.
                if (DashboardGatewayExtensions.IsDashboardRequest(http)) headers.ContentSecurityPolicy = DashboardGatewayExtensions.ContentSecurityPolicy;
                else if (ConsoleHostingExtensions.IsConsoleRequest(http)) headers.ContentSecurityPolicy = ConsoleHostingExtensions.ContentSecurityPolicy;
                if (http.Request.IsHttps) headers.StrictTransportSecurity = "max-age=31536000";
                return Task.CompletedTask;
            });
            return next(http);
        });
        if (app.Services.GetRequiredService<IOptions<GatewayCorsOptions>>().Value.Origins.Length > 0) app.UseCors(CorsPolicy);
        return app;
    }
}
