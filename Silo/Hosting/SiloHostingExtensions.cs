using System.Net;
using Orleans.Configuration;
using Smpc.ApiGateway.Hosting;
using Smpc.Grains.Storage;

namespace Smpc.Silo.Hosting;

/// <summary>Configures an Smpc silo for embedded or cluster mode.</summary>
public static class SiloHostingExtensions
{
    /// <summary>The database a silo with these options uses.</summary>
    public static SmpcDatabase CreateDatabase(SmpcHostOptions options, IConfiguration configuration)
    {
        if (options.Mode == HostingMode.Embedded)
        {
            var path = Path.GetFullPath(Path.Combine(options.DataDirectory, "smpc.db"));
            return new SmpcDatabase(DatabaseProvider.Sqlite, SmpcDatabase.SqliteConnectionString(path), options.ServiceId);
        }

        var connectionString = configuration.GetConnectionString("Smpc")
            ?? throw new InvalidOperationException("Cluster mode needs ConnectionStrings:Smpc (env ConnectionStrings__Smpc) pointing at PostgreSQL.");
        return new SmpcDatabase(DatabaseProvider.PostgreSql, connectionString, options.ServiceId);
    }

    /// <summary>Grain storage (ADO.NET, System.Text.Json), the payload chunk store and the storage error filter.</summary>
    public static ISiloBuilder AddSmpcStorage(this ISiloBuilder silo, SmpcDatabase database)
    {
        silo.Services.AddSingleton(database);
        silo.Services.AddSingleton<PayloadChunkStore>();
        silo.Services.AddSingleton(TimeProvider.System);
        silo.AddAdoNetGrainStorage(SmpcDatabase.GrainStorageName, o =>
        {
            o.Invariant = database.Invariant;
            o.ConnectionString = database.ConnectionString;
        });
        silo.UseSystemTextJsonGrainStorageSerializer();
        silo.AddIncomingGrainCallFilter<StorageExceptionFilter>();
        silo.Services.AddSmpcExceptionSerialization();
        return silo;
    }

    /// <summary>Everything a production silo needs for the chosen mode.</summary>
    public static ISiloBuilder AddSmpcSilo(this ISiloBuilder silo, SmpcHostOptions options, SmpcDatabase database)
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = options.ClusterId;
            o.ServiceId = options.ServiceId;
        });
        if (!string.IsNullOrWhiteSpace(options.SiloName)) silo.Configure<SiloOptions>(o => o.SiloName = options.SiloName);
        if (options.Mode == HostingMode.Embedded)
        {
            silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: options.ServiceId, clusterId: options.ClusterId);
            // Orleans has no SQLite reminder table; embedded reminders are in memory (re-registered by grains on activation).
            silo.UseInMemoryReminderService();
        }
        else
        {
            silo.ConfigureEndpoints(IPAddress.Parse(options.AdvertisedAddress), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = database.Invariant;
                o.ConnectionString = database.ConnectionString;
            });
            silo.UseAdoNetReminderService(o =>
            {
                o.Invariant = database.Invariant;
                o.ConnectionString = database.ConnectionString;
            });
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                if (options.ProbeTimeout is { } probe) o.ProbeTimeout = probe;
                if (options.NumMissedProbesLimit is { } missed) o.NumMissedProbesLimit = missed;
            });
        }

        silo.AddSmpcStorage(database);
        silo.AddActivityPropagation();
        silo.AddSmpcDashboard();
        return silo;
    }
}
