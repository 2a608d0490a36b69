using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Authentication;
using Smpc.ApiGateway.Apis;
using Smpc.ApiGateway.Auth;
using Smpc.ApiGateway.Problems;

namespace Smpc.ApiGateway.Hosting;

/// <summary>Registers and maps the REST gateway; used by the standalone gateway and by the embedded silo.</summary>
public static class GatewayHostingExtensions
{
    /// <summary>Services the gateway needs (problems, OpenAPI, JSON, limits). The Orleans client or silo is added by the host.</summary>
    public static IHostApplicationBuilder AddSmpcGateway(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<RestGatewayOptions>(builder.Configuration.GetSection(RestGatewayOptions.Section));
        builder.Services.Configure<Smpc.Grains.Interfaces.Webhooks.WebhookOptions>(builder.Configuration.GetSection(Smpc.Grains.Interfaces.Webhooks.WebhookOptions.Section));
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ProblemMapping.Customize);
        builder.Services.AddExceptionHandler<SmpcExceptionHandler>();
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.MaxDepth = 32;
            o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter());
        });
        QuietByDefault(builder);
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(o =>
        {
            o.AddServerHeader = false; // no product banner
            // Long request lines reach the gateway, which refuses them with a problem (RequestTargetChecks.UseSmpcTargetChecks),
            // instead of Kestrel's bare 414.
            o.Limits.MaxRequestLineSize = RequestTargetChecks.MaxRequestLineBytes;
            KestrelRejections.Use(o);
        });
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.AddSmpcDashboard();
        builder.AddSmpcPrometheus();
        builder.AddSmpcRateLimits();
        builder.AddSmpcCors();
        builder.Services.AddOpenApi("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            // Stable whatever host or port serves it, so the committed document only changes when the API does.
            document.Info = new() { Title = "Smpc.Orleans REST API", Version = "v1", Description = "Secure aggregation and private set intersection as a service." };
            document.Servers = [];
            return Task.CompletedTask;
        }).AddDocumentTransformer<WebhookDocumentTransformer>());
        return builder;
    }

    /// <summary>Categories that log per request at Information (ASP.NET's request lines, routing, results; authentication outcomes).</summary>
    /// <remarks>Orleans' start-up dump of every option (about 200 lines) is detail too.</remarks>
    private static readonly string[] PerRequestCategories = ["Microsoft.AspNetCore", "Smpc.ApiGateway.Auth", "Polly", "Orleans.Runtime.SiloOptionsLogger"];

    /// <summary>
    /// Logs are quiet by default: lifecycle and warnings at Information, per-request detail only when asked for, with
    /// <c>Smpc:Logging:Detail=true</c> or an explicit level for a category. Request lines also hold paths, where users
    /// sometimes paste what does not belong there.
    /// </summary>
    private static void QuietByDefault(IHostApplicationBuilder builder)
    {
        if (builder.Configuration.GetValue<bool>("Smpc:Logging:Detail")) return;
        foreach (var category in PerRequestCategories)
            if (builder.Configuration[$"Logging:LogLevel:{category}"] is null) builder.Logging.AddFilter(category, LogLevel.Warning);
    }

    /// <summary>Maps /v1, /health, /openapi/v1.json, the tenant console and the operator's dashboard with problem responses for every error.</summary>
    public static WebApplication MapSmpcGateway(this WebApplication app)
    {
        app.UseSmpcSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseSmpcTargetChecks();
        app.UseSmpcConsole(); // static pages, anonymous; the console calls /v1 with the user's key
        app.UseRouting(); // after the target checks: the router never sees (nor logs) a refused target
        app.Use(LimitJsonBodies);
        app.UseSmpcAddressLimit();
        app.UseAuthentication();
        app.UseSmpcRateLimit();
        app.UseAuthorization();
        app.UseSmpcIdempotency();
        app.MapSmpcDashboard();
        app.MapSmpcPrometheus();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapHealthApi();
        app.MapGroup("/v1")
            .RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .MapKeysApi()
            .MapAuditApi()
            .MapTenantsApi()
            .MapMembersApi()
            .MapSessionsApi()
            .MapSecureAggregationApi()
            .MapPsiApi()
            .MapFederatedApi()
            .MapPayloadsApi()
            .MapWebhooksApi();
        return app;
    }

    // JSON control messages are small; octet-stream routes raise their own limit per request.
    private static Task LimitJsonBodies(HttpContext http, RequestDelegate next)
    {
        if (http.Request.HasJsonContentType())
        {
            var limit = http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<RestGatewayOptions>>().Value.MaxJsonBytes;
            // Refuse a declared oversize body before lowering Kestrel's limit: with the default limit Kestrel can still drain
            // the unread body and answer 413, instead of resetting the connection mid-upload.
            if (http.Request.ContentLength > limit) throw new BadHttpRequestException($"JSON bodies are limited to {limit} bytes.", StatusCodes.Status413PayloadTooLarge);
            var feature = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>();
            if (feature is { IsReadOnly: false }) feature.MaxRequestBodySize = limit;
        }

        return next(http);
    }
}
