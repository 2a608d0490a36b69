using Orleans.Dashboard;
using Smpc.ApiGateway.Hosting;

namespace Smpc.Silo.Hosting;

/// <summary>The Orleans Dashboard's silo side; gateways (standalone or co-hosted) serve the page, operator only.</summary>
public static class DashboardHostingExtensions
{
    /// <summary>
    /// The dashboard's grains, per-silo statistics service, telemetry collection and grain-call profiler, unless
    /// <c>Smpc:Gateway:Dashboard:Enabled</c> is false. Also what a co-hosted gateway needs to serve the dashboard.
    /// </summary>
    public static ISiloBuilder AddSmpcDashboard(this ISiloBuilder silo)
    {
        if (SmpcDashboardOptions.From(silo.Configuration).Enabled) silo.AddDashboard();
        return silo;
    }
}
