namespace Smpc.ApiGateway.Hosting;

/// <summary>Builds the standalone gateway process: used by Program and by tests that inspect what it reads.</summary>
public static class GatewayApp
{
    /// <summary>The standalone gateway (DESIGN.md §4): telemetry, the REST API and an Orleans client of a PostgreSQL-clustered service.</summary>
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        builder.AddSmpcTelemetry("smpc-gateway");
        builder.AddSmpcGateway();
        builder.AddSmpcClusterClient();
        if (builder.Configuration.GetSection(RestGatewayOptions.Section).Get<RestGatewayOptions>()?.OperatorKeyHash() is null)
            Console.Error.WriteLine("warning: no operator key configured (Smpc__Gateway__OperatorKeySha256); tenants cannot be created through this gateway.");
        var app = builder.Build();
        app.MapSmpcGateway();
        return app;
    }
}
