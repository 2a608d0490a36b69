using Orleans.Configuration;

namespace Smpc.ApiGateway.Hosting;

/// <summary>The Orleans client of the standalone gateway.</summary>
public static class ClusterClientHostingExtensions
{
    /// <summary>Connects to the cluster through ADO.NET (PostgreSQL) membership, from <c>ConnectionStrings:Smpc</c> and <c>Smpc:ClusterId</c>/<c>Smpc:ServiceId</c>.</summary>
    public static IHostApplicationBuilder AddSmpcClusterClient(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString("Smpc")
            ?? throw new InvalidOperationException("ConnectionStrings:Smpc (env ConnectionStrings__Smpc) must name the cluster's PostgreSQL database.");
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = builder.Configuration["Smpc:ClusterId"] ?? "smpc";
                o.ServiceId = builder.Configuration["Smpc:ServiceId"] ?? "smpc";
            });
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
            });
            client.AddActivityPropagation();
            client.Services.AddSmpcExceptionSerialization();
        });
        return builder;
    }
}
