using Smpc.ApiGateway.Apis;
using Smpc.ApiGateway.Auth;
using Smpc.ApiGateway.Hosting;
using Smpc.Grains.Interfaces.Webhooks;
using Smpc.Grains.Storage;
using Smpc.Grains.Webhooks;

namespace Smpc.Silo.Hosting;

/// <summary>Builds the silo process: used by Program and by tests that host it on Kestrel with their own settings.</summary>
public static class SmpcApp
{
    /// <summary>Default REST address of the embedded service.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>The command-line verb that applies the schema and exits (<c>Smpc.Silo migrate</c>).</summary>
    public const string MigrateCommand = "migrate";

    /// <summary>Builds the application (applying the schema first when the mode says so). <paramref name="configure"/> runs last, before Build.</summary>
    public static Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null) =>
        BuildAsync(WebApplication.CreateBuilder(args), configure);

    /// <summary>Builds the application on a builder the caller made (e.g. with a configuration source of its own added first).</summary>
    public static async Task<WebApplication> BuildAsync(WebApplicationBuilder builder, Action<WebApplicationBuilder>? configure = null)
    {
        var options = ReadOptions(builder.Configuration);
        var database = SiloHostingExtensions.CreateDatabase(options, builder.Configuration);

        if (options.AppliesSchema) await SchemaMigrator.ApplyAsync(database);
        if (string.IsNullOrEmpty(builder.Configuration["urls"])) builder.WebHost.UseUrls(DefaultUrl);

        if (options.ServesRestApi) EnsureOperatorKey(builder.Configuration, options);
        builder.AddSmpcTelemetry(options.Mode == HostingMode.Embedded ? "smpc-embedded" : "smpc-silo");
        // Plain http webhooks to loopback are for a developer's own machine: allowed in embedded mode unless configured otherwise.
        if (options.Mode == HostingMode.Embedded) builder.Configuration[$"{WebhookOptions.Section}:{nameof(WebhookOptions.AllowLoopbackHttp)}"] ??= "true";
        builder.UseOrleans(silo => silo.AddSmpcSilo(options, database).AddSmpcWebhooks(builder.Configuration));
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

    /// <summary>
    /// The operator key comes from configuration (<c>Smpc:Gateway:OperatorKey</c> or <c>…OperatorKeySha256</c>). In embedded
    /// mode without one, a key is generated on first start, printed once, and only its hash is kept in the data directory.
    /// </summary>
    private static void EnsureOperatorKey(ConfigurationManager configuration, SmpcHostOptions options)
    {
        const string hashKey = "Smpc:Gateway:OperatorKeySha256";
        if (!string.IsNullOrWhiteSpace(configuration["Smpc:Gateway:OperatorKey"]) || !string.IsNullOrWhiteSpace(configuration[hashKey])) return;
        if (options.Mode != HostingMode.Embedded)
        {
            Console.Error.WriteLine("warning: no operator key configured (Smpc__Gateway__OperatorKeySha256); tenants cannot be created through this process.");
            return;
        }

        Smpc.Grains.Storage.OwnerOnly.Directory(options.DataDirectory);
        var path = Path.Combine(options.DataDirectory, "operator-key.sha256");
        if (!File.Exists(path))
        {
            var key = OperatorKeys.Generate();
            File.WriteAllText(path, OperatorKeys.HashHex(key));
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Console.WriteLine($"Operator key (shown once; only its hash is kept in {Path.GetFullPath(path)}):");
            Console.WriteLine($"  {key}");
        }

        configuration[hashKey] = File.ReadAllText(path).Trim();
    }

    private static SmpcHostOptions ReadOptions(IConfiguration configuration) =>
        configuration.GetSection(SmpcHostOptions.Section).Get<SmpcHostOptions>() ?? new SmpcHostOptions();
}
