using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Federated;
using Smpc.Protocols.Randomness;

namespace Smpc.Grains.Tests;

/// <summary>A federated session's state (member keys, sealed keys, rounds, metrics) is durable: it reads back the same after its activation is collected.</summary>
public sealed class FederatedSessionTests : IAsyncLifetime
{
    private readonly TwoSiloCluster _cluster = new();

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task FederatedState_ReadsBackUnchanged_AfterTheActivationIsCollected()
    {
        var grains = _cluster.Grains;
        var tenant = Seed.NewTenantId();
        await Seed.CreateTenantAsync(grains, tenant);
        string[] pods = ["f1", "f2", "f3"];
        var identities = pods.ToDictionary(p => p, _ => Ed25519KeyPair.Generate(SystemRandomSource.Instance));
        foreach (var pod in pods)
        {
            var (_, keyId, hash) = ApiKey.Generate();
            await grains.GetPod(new EntityKey(tenant, pod)).RegisterAsync(Seed.Admin(tenant), pod, identities[pod].PublicKey, keyId, hash);
        }

        var (_, modellerKeyId, modellerHash) = ApiKey.Generate();
        await grains.GetModeller(new EntityKey(tenant, "m1")).RegisterAsync(Seed.Admin(tenant), "Modeller", [], modellerKeyId, modellerHash);
        var modeller = Seed.Modeller(tenant);
        var parent = grains.GetFederatedSession(new EntityKey(tenant, "q"));
        await grains.GetSession(new EntityKey(tenant, "q")).CreateAsync(modeller, new CreateSession("m1", SessionKind.FederatedQuery, pods, Query: Seed.QuerySpec()));
        foreach (var pod in pods)
        {
            using var member = X25519KeyPair.Generate(SystemRandomSource.Instance);
            await parent.SubmitMemberKeyAsync(Caller.Pod(tenant, pod), member.PublicKey,
                FederatedChannel.SignMemberKey(identities[pod], tenant, "q", pod, member.PublicKey));
        }

        await parent.SubmitSealedKeysAsync(modeller, pods.ToDictionary(p => p, p => (byte[])[.. Enumerable.Repeat((byte)p[1], FederatedChannel.SignedContentKeySize)]));
        var round = grains.GetSession(new EntityKey(tenant, "q-counts"));
        await round.CreateAsync(modeller, new CreateSession("m1", SessionKind.SecureAggregation, pods, Seed.Spec() with { Input = "counts" }, Parent: "q"));
        var before = await parent.ReportRoundMetricsAsync(modeller, "counts", new Dictionary<string, double> { ["loss"] = 0.25 });

        // Deactivate the parent: the next call activates it afresh from storage.
        await parent.Cast<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();
        var after = await parent.GetAsync(modeller);

        Assert.Equal((before.Version, before.Phase, before.Kind), (after.Version, after.Phase, after.Kind));
        var (b, a) = (before.Federated!, after.Federated!);
        Assert.Equivalent(Seed.QuerySpec(), a.Query, strict: true);
        Assert.Null(a.Training);
        Assert.Equal(b.Deadline, a.Deadline);
        Assert.Equal(pods, a.MemberKeys.Keys.Order());
        Assert.All(pods, p => Assert.Equal(b.MemberKeys[p].PublicKey, a.MemberKeys[p].PublicKey));
        Assert.All(pods, p => Assert.Equal(b.SealedKeys[p], a.SealedKeys[p]));
        var (roundBefore, roundAfter) = (Assert.Single(b.Rounds), Assert.Single(a.Rounds));
        Assert.Equal((roundBefore.Round, roundBefore.SessionId, roundBefore.CreatedAt), (roundAfter.Round, roundAfter.SessionId, roundAfter.CreatedAt));
        Assert.Equal(pods, roundAfter.PodIds);
        Assert.Equal(0.25, Assert.Single(a.Metrics).Values["loss"]);
        Assert.Equal("q", (await round.GetAsync(modeller)).Parent);

        // A round cannot join a parent of another modeller or kind: a plain secure-aggregation session is no parent.
        var error = await Assert.ThrowsAsync<SmpcException>(() => grains.GetSession(new EntityKey(tenant, "x")).CreateAsync(modeller,
            new CreateSession("m1", SessionKind.SecureAggregation, pods, Seed.Spec() with { Input = "r" }, Parent: "q-counts")));
        Assert.Equal(SmpcErrorCode.Validation, error.Code);
    }

    [Fact]
    public async Task Create_ChecksTheTypedSpec_AgainstTheFederatedRules_InTheGrain()
    {
        var grains = _cluster.Grains;
        var tenant = await Seed.TenantWithMembersAsync(grains);
        string[] pods = ["p1", "p2", "p3"];
        async Task<SmpcException> RefusedAsync(string id, SessionKind kind, FederatedQuerySpec? query = null, FederatedTrainingSpec? training = null)
        {
            var error = await Assert.ThrowsAsync<SmpcException>(() => grains.GetSession(new EntityKey(tenant, id))
                .CreateAsync(Seed.Modeller(tenant), new CreateSession("m1", kind, pods, Query: query, Training: training)));
            Assert.Equal(SmpcErrorCode.Validation, error.Code);
            return error;
        }

        var training = new FederatedTrainingSpec("linear", "hospital", ["age"], "stay", 20, 0.1, 5, 0, 1e-4, 300, 100, 1000, 1_000_000);
        Assert.Equal("A query session needs 'query' (sql, source, groupBy, aggregates).", (await RefusedAsync("a", SessionKind.FederatedQuery, training: training)).Message);
        Assert.Equal("A training session needs 'training' (trainer, source, features, label).", (await RefusedAsync("b", SessionKind.FederatedTraining, Seed.QuerySpec())).Message);
        Assert.Equal("query.source must name one of the pods' data sources (an id).", (await RefusedAsync("c", SessionKind.FederatedQuery, Seed.QuerySpec() with { Source = "no such/id" })).Message);
        Assert.Equal("query.roundTimeoutSeconds must be between 5 and 86400.", (await RefusedAsync("d", SessionKind.FederatedQuery, Seed.QuerySpec() with { RoundTimeoutSeconds = 4 })).Message);
        Assert.StartsWith("query: the query needs a count aggregate", (await RefusedAsync("e", SessionKind.FederatedQuery,
            Seed.QuerySpec() with { Aggregates = [new FederatedAggregate("total", "sum", 0, 10, null, null)] })).Message, StringComparison.Ordinal);
        Assert.Equal("training.rounds must be between 1 and 1000.", (await RefusedAsync("f", SessionKind.FederatedTraining, training: training with { Rounds = 0 })).Message);
        Assert.Equal("1001 rounds of 4 phases at 3600 s each could take longer than the 7 days a session may live; lower roundTimeoutSeconds or the rounds.",
            (await RefusedAsync("g", SessionKind.FederatedTraining, training: training with { Rounds = 1000, RoundTimeoutSeconds = 3600 })).Message);

        // The same spec again (other instances, equal values) is an idempotent create; another spec is a conflict.
        var session = grains.GetSession(new EntityKey(tenant, "t"));
        var created = await session.CreateAsync(Seed.Modeller(tenant), new CreateSession("m1", SessionKind.FederatedTraining, pods, Training: training));
        var again = await session.CreateAsync(Seed.Modeller(tenant), new CreateSession("m1", SessionKind.FederatedTraining, pods,
            Training: training with { Features = ["age"] }));
        Assert.Equal((created.Version, created.CreatedAt), (again.Version, again.CreatedAt));
        Assert.Equivalent(training, again.Federated!.Training, strict: true);
        var conflict = await Assert.ThrowsAsync<SmpcException>(() => session.CreateAsync(Seed.Modeller(tenant),
            new CreateSession("m1", SessionKind.FederatedTraining, pods, Training: training with { Rounds = 21 })));
        Assert.Equal(SmpcErrorCode.Conflict, conflict.Code);
    }
}
