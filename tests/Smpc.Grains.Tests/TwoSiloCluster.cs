using Orleans.TestingHost;
using Smpc.Silo.Hosting;

namespace Smpc.Grains.Tests;

/// <summary>Two in-process silos sharing one real SQLite database through the production storage configuration.</summary>
public sealed class TwoSiloCluster : IAsyncLifetime
{
    public SqliteTestDatabase Storage { get; } = new();

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) => silo.AddSmpcStorage(Storage.Database));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Storage.Dispose();
    }
}
