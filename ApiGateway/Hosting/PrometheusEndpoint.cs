using OpenTelemetry.Metrics;

namespace Smpc.ApiGateway.Hosting;

/// <summary>The Prometheus scrape endpoint, bound from <c>Smpc:Telemetry:Prometheus</c> (gateways and the embedded silo).</summary>
public sealed class PrometheusEndpointOptions
{
    public const string Section = "Smpc:Telemetry:Prometheus";

    /// <summary>Serve the scrape endpoint. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Where, operator only. Default <c>/metrics</c>.</summary>
    public string Path { get; set; } = "/metrics";

    /// <summary>The configured options, with <see cref="Path"/> normalised to a leading and no trailing slash.</summary>
    public static PrometheusEndpointOptions From(IConfiguration configuration)
    {
        var options = configuration.GetSection(Section).Get<PrometheusEndpointOptions>() ?? new PrometheusEndpointOptions();
        var path = "/" + options.Path.Trim().Trim('/');
        if (path == "/" || path.StartsWith("/v1", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"{Section}:Path must not be the root nor under /v1: the REST API lives there.");
        options.Path = path;
        return options;
    }
}

/// <summary>
/// Every metric of the process (the Smpc meter, Orleans', ASP.NET Core's) in the Prometheus text format, for the operator
/// only: <c>Authorization: Bearer &lt;operator key&gt;</c>; no key is a 401 problem, another role's key a 403 problem.
/// Left out of the OpenAPI document and of the request metrics (scrapes would otherwise dominate them). OTLP export, when
/// configured, runs beside it.
/// </summary>
public static class PrometheusEndpoint
{
    /// <summary>Options, the Prometheus exporter on the process's meter provider, and the sessions-by-phase gauge.</summary>
    public static IHostApplicationBuilder AddSmpcPrometheus(this IHostApplicationBuilder builder)
    {
        var options = PrometheusEndpointOptions.From(builder.Configuration);
        builder.Services.AddSingleton(options);
        builder.Services.AddAuthorizationBuilder().AddPolicy(DashboardGatewayExtensions.OperatorPolicy,
            p => p.RequireRole(nameof(Smpc.Grains.Interfaces.Access.CallerRole.Operator)));
        builder.AddServiceGauges();
        // The process's meter provider (AddSmpcTelemetry adds the meters; a host that did not still gets a working endpoint).
        if (options.Enabled) builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddPrometheusExporter());
        return builder;
    }

    /// <summary>Maps the scrape endpoint (when enabled). Call after UseAuthorization.</summary>
    public static WebApplication MapSmpcPrometheus(this WebApplication app)
    {
        app.Use(TagLongPolls);
        var options = app.Services.GetRequiredService<PrometheusEndpointOptions>();
        if (!options.Enabled) return app;
        app.MapPrometheusScrapingEndpoint(options.Path)
            .RequireAuthorization(DashboardGatewayExtensions.OperatorPolicy)
            .ExcludeFromDescription()
            .DisableHttpMetrics()
            .WithName("ScrapeMetrics");
        return app;
    }

    /// <summary>
    /// The tag <see cref="LongPollTag"/> marks long polls in <c>http.server.request.duration</c> (routes marked with
    /// <see cref="WithLongPoll{TBuilder}"/>, when the request carries the route's long-poll query parameter: GetSession's
    /// <c>waitForVersion</c>, ListPodSessions' <c>after</c>): they last up to their wait by design, and the latency SLO leaves them out.
    /// </summary>
    public const string LongPollTag = "smpc.long_poll";

    /// <summary>Marks the route as long-polling when the request has the query parameter <paramref name="parameter"/> (tagged <see cref="LongPollTag"/>).</summary>
    public static TBuilder WithLongPoll<TBuilder>(this TBuilder builder, string parameter) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new LongPollRouteMetadata(parameter));

    private static Task TagLongPolls(HttpContext http, RequestDelegate next)
    {
        if (HttpMethods.IsGet(http.Request.Method)
            && http.GetEndpoint()?.Metadata.GetMetadata<LongPollRouteMetadata>() is { } longPoll
            && http.Request.Query.ContainsKey(longPoll.Parameter)
            && http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMetricsTagsFeature>() is { } metrics)
            metrics.Tags.Add(new(LongPollTag, "true"));
        return next(http);
    }

    /// <summary>Whether the request is for the (enabled) scrape endpoint; its scrapes are not traced.</summary>
    public static bool IsScrapeRequest(HttpContext http) =>
        http.RequestServices.GetService<PrometheusEndpointOptions>() is { Enabled: true } options
        && http.Request.Path.StartsWithSegments(options.Path, StringComparison.OrdinalIgnoreCase);
}

/// <summary>A route that long-polls when the request carries the query parameter <see cref="Parameter"/> (see <see cref="PrometheusEndpoint.WithLongPoll{TBuilder}"/>).</summary>
public sealed record LongPollRouteMetadata(string Parameter);
