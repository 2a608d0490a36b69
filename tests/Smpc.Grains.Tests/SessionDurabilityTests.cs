using Orleans.Runtime;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Tests;

public sealed class SessionDurabilityTests : IAsyncLifetime
{
    private readonly TwoSiloCluster _cluster = new();

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task Session_SurvivesKillingTheSiloThatHostsIt()
    {
        var grains = _cluster.Grains;
        var tenant = await Seed.TenantWithMembersAsync(grains);
        var management = grains.GetGrain<IManagementGrain>(0);
        var primary = _cluster.Cluster.Silos[0].SiloAddress;

        // Placement is random: create sessions until one lives on the secondary silo (killing the primary
        // would also test the test cluster's own membership, which is not what this test is about).
        ISessionGrain? session = null;
        ISecureAggregationSessionGrain? stateful = null;
        SessionInfo? created = null;
        SiloAddress? host = null;
        for (var i = 0; i < 40 && session is null; i++)
        {
            var candidate = grains.GetSession(new EntityKey(tenant, $"s{i}"));
            var info = await candidate.CreateAsync(Seed.Modeller(tenant), Seed.AggregationSession());
            // The session's state lives in its kind's grain; its directory entry only names the kind.
            var address = await management.GetActivationAddress(grains.GetSecureAggregationSession(new EntityKey(tenant, $"s{i}")));
            if (address is not null && !address.Equals(primary)) (session, stateful, created, host) = (candidate, grains.GetSecureAggregationSession(new EntityKey(tenant, $"s{i}")), info, address);
        }

        Assert.NotNull(session);
        var victim = _cluster.Cluster.Silos.Single(s => s.SiloAddress.Equals(host));
        await _cluster.Cluster.KillSiloAsync(victim);

        var read = await session!.GetAsync(Seed.Modeller(tenant));

        Assert.Equal((created!.CreatedAt, created.Version, created.ModellerId), (read.CreatedAt, read.Version, read.ModellerId));
        Assert.Equal(["p1", "p2", "p3"], read.PodIds);
        Assert.Equal(SessionPhase.KeyExchange, read.Phase);
        Assert.Equal(created.Aggregation!.PhaseDeadline, read.Aggregation!.PhaseDeadline);
        var newHost = await management.GetActivationAddress(stateful!);
        Assert.Equal(primary, newHost);
    }
}
