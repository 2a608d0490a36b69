namespace Smpc.ApiGateway.Hosting;

/// <summary>The Orleans Dashboard, bound from <c>Smpc:Gateway:Dashboard</c> on gateways and silos alike.</summary>
public sealed class SmpcDashboardOptions
{
    public const string Section = "Smpc:Gateway:Dashboard";

    /// <summary>Serve the dashboard (gateways) and collect its statistics (silos). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Where the gateway serves the dashboard, operator only. Default <c>/dashboard</c>.</summary>
    public string Path { get; set; } = "/dashboard";

    /// <summary>
    /// Allow the dashboard's grain-state view (<c>…/GrainState</c>), which activates any grain and calls its parameterless
    /// methods. Default false: an operator key must not read or wake tenants' grains.
    /// </summary>
    public bool AllowGrainState { get; set; }

    /// <summary>The configured options, with <see cref="Path"/> normalised to a leading and no trailing slash.</summary>
    public static SmpcDashboardOptions From(IConfiguration configuration)
    {
        var options = configuration.GetSection(SmpcDashboardOptions.Section).Get<SmpcDashboardOptions>() ?? new SmpcDashboardOptions();
        var path = "/" + options.Path.Trim().Trim('/');
        if (path == "/") throw new InvalidOperationException($"{Section}:Path must not be the root: the REST API lives there.");
        options.Path = path;
        return options;
    }
}
