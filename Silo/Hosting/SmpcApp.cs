using Smpc.ApiGateway.Apis;
using Smpc.ApiGateway.Hosting;
using Smpc.Grains.Storage;

namespace Smpc.Silo.Hosting;

/// <summary>Builds the silo process: used by Program and by tests that host it on Kestrel with their own settings.</summary>
public static class SmpcApp
{
    /// <summary>Default REST address of the embedded service.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>Builds the application (applying the schema first when the mode says so). <paramref name="configure"/> runs last, before Build.</summary>
    public static async Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        var options = ReadOptions(builder.Configuration);
        var database = SiloHostingExtensions.CreateDatabase(options, builder.Configuration);

        if (options.AppliesSchema) await SchemaMigrator.ApplyAsync(database);
        if (string.IsNullOrEmpty(builder.Configuration["urls"])) builder.WebHost.UseUrls(DefaultUrl);

        builder.AddSmpcTelemetry(options.Mode == HostingMode.Embedded ? "smpc-embedded" : "smpc-silo");
        builder.UseOrleans(silo => silo.AddSmpcSilo(options, database));
        if (options.ServesRestApi) builder.AddSmpcGateway();
        configure?.Invoke(builder);

        var app = builder.Build();
        if (options.ServesRestApi) app.MapSmpcGateway();
        else app.MapHealthApi();
        return app;
    }

    /// <summary>The <c>migrate</c> command: applies deploy/sql to the configured database.</summary>
    public static async Task<int> MigrateAsync(string[] args)
    {
        var configuration = WebApplication.CreateBuilder(args).Configuration;
        var database = SiloHostingExtensions.CreateDatabase(ReadOptions(configuration), configuration);
        await SchemaMigrator.ApplyAsync(database);
        Console.WriteLine($"Schema applied to {database.Provider}.");
        return 0;
    }

    private static SmpcHostOptions ReadOptions(IConfiguration configuration) =>
        configuration.GetSection(SmpcHostOptions.Section).Get<SmpcHostOptions>() ?? new SmpcHostOptions();
}
