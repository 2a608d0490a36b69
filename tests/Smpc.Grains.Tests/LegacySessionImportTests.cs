using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Tests;

/// <summary>
/// Sessions stored by the single session grain of earlier versions (grain type "session", state "session", its whole
/// SessionState as JSON) are served by their kind's grain: the row is written here byte for byte as that grain wrote it.
/// </summary>
public sealed class LegacySessionImportTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>
{
    private static readonly DateTimeOffset CreatedAt = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task AnOldSecureAggregationRow_IsServedByTheSecureAggregationGrain_AndGoesOn()
    {
        var grains = cluster.Grains;
        var tenant = await Seed.TenantWithMembersAsync(grains);
        var key = new EntityKey(tenant, "old-secagg");
        var deadline = DateTimeOffset.UtcNow.AddHours(1).ToString("O");
        await WriteOldRowAsync(key, $$"""
            {"ModellerId":"m1","Kind":1,"PodIds":["p1","p2","p3"],"Phase":4,"CreatedAt":"2026-12-01T09:00:00+00:00","Version":3,
             "TraceParent":null,
             "Aggregation":{"Spec":{"Fields":[{"Name":"x","Length":4,"Precision":10000000000,"Min":-100,"Max":100,"Shape":null}],
                                    "Operation":2,"Threshold":null,"ModellerPublicKey":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                                    "PhaseTimeout":"00:05:00","Input":"x","WeightField":null,"PhaseTimeouts":null,"Weight":null},
                            "Threshold":2,"Deadline":"{{deadline}}","KeyBundles":{},"Envelopes":{},"MaskedInputs":[],"Responses":{},
                            "Dropped":[3],"Declined":{"3":"policy"},"KeyHolders":null,"ShareSenders":null,"Survivors":null,
                            "UnmaskRequest":null,"MaskedSumPayload":null,"Included":null,"FailureReason":null},
             "Psi":null,"Federated":null,"Parent":null,"Cancellation":null}
            """);
        var session = grains.GetSession(key);

        var read = await session.GetAsync(Seed.Modeller(tenant));

        Assert.Equal((SessionKind.SecureAggregation, SessionPhase.KeyExchange, 3, CreatedAt), (read.Kind, read.Phase, read.Version, read.CreatedAt));
        Assert.Equal(["p1", "p2", "p3"], read.PodIds);
        Assert.Equal(2, read.Aggregation!.Threshold);
        Assert.Equal([3], read.Aggregation.Dropped);
        Assert.Equal("policy", read.Aggregation.Declined![3]);
        Assert.Equal(DateTimeOffset.Parse(deadline, System.Globalization.CultureInfo.InvariantCulture), read.Aggregation.PhaseDeadline);
        // Its protocol goes on under the new grain: bundles are not released yet, the declined pod is refused.
        var early = await Assert.ThrowsAsync<SmpcException>(() => grains.GetSecureAggregationSession(key).GetKeyBundlesAsync(Seed.Modeller(tenant)));
        Assert.Equal(SmpcErrorCode.WrongPhase, early.Code);
        var declined = await Assert.ThrowsAsync<SmpcException>(() => grains.GetSecureAggregationSession(key).SubmitKeyBundleAsync(Interfaces.Access.Caller.Pod(tenant, "p3"), [1]));
        Assert.Contains("declined this session (policy)", declined.Message, StringComparison.Ordinal);

        var cancelled = await session.CancelAsync(Seed.Modeller(tenant), "moved on", null);

        Assert.Equal((SessionPhase.Cancelled, 4), (cancelled.Phase, cancelled.Version));
        // Imported once: after a fresh activation the grain reads its own state (the cancellation), not the old row.
        await grains.GetSecureAggregationSession(key).Cast<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();
        var again = await session.GetAsync(Seed.Admin(tenant));
        Assert.Equal((SessionPhase.Cancelled, 4, "moved on"), (again.Phase, again.Version, again.Cancellation!.Reason));
        Assert.True(await session.HasEndedAsync());
    }

    [Fact]
    public async Task AnOldPsiRow_IsServedByThePsiGrain()
    {
        var grains = cluster.Grains;
        var tenant = await Seed.TenantWithMembersAsync(grains);
        var key = new EntityKey(tenant, "old-psi");
        var deadline = DateTimeOffset.UtcNow.AddHours(1).ToString("O");
        await WriteOldRowAsync(key, $$"""
            {"ModellerId":"m1","Kind":2,"PodIds":["p1"],"Phase":8,"CreatedAt":"2026-12-01T09:00:00+00:00","Version":1,"TraceParent":null,
             "Aggregation":null,
             "Psi":{"Spec":{"Protocol":"ecdh","Mode":"cardinality","ModellerColumns":[{"Name":"email","Kind":"email","CountryCode":null}],
                            "PodColumns":[{"Name":"mail","Kind":"email","CountryCode":null}],"Source":"crm","ModellerSetSize":10,"KeyBits":0,
                            "Timeout":"01:00:00"},
                    "Deadline":"{{deadline}}","Accepted":false,"PublicKey":null,"CountedByPod":false,"ServerSetSize":null,"QueryStored":false,
                    "ReplyStored":false,"DoubleBlindedStored":false,"PodCount":null,"ReportedCount":null,"FailureReason":null},
             "Federated":null,"Parent":null,"Cancellation":null}
            """);

        var read = await grains.GetSession(key).GetAsync(Interfaces.Access.Caller.Pod(tenant, "p1"));
        var accepted = await grains.GetPsiSession(key).AcceptPsiAsync(Interfaces.Access.Caller.Pod(tenant, "p1"), new PsiAccept(null, CountedByPod: true));

        Assert.Equal((SessionKind.PrivateSetIntersection, SessionPhase.AwaitingPod, 1), (read.Kind, read.Phase, read.Version));
        Assert.Equal(("ecdh", "cardinality", 10L), (read.Psi!.Spec.Protocol, read.Psi.Spec.Mode, read.Psi.Spec.ModellerSetSize));
        Assert.Equal((SessionPhase.Exchange, 2, true), (accepted.Phase, accepted.Version, accepted.Psi!.Accepted));
        // The id keeps its kind: a protocol call of another kind is told so (not "not found").
        var wrongKind = await Assert.ThrowsAsync<SmpcException>(() => grains.GetSecureAggregationSession(key).GetUnmaskMaterialAsync(Seed.Modeller(tenant)));
        Assert.Equal(SmpcErrorCode.NotFound, wrongKind.Code); // the grain of another kind has no such session ...
        var guarded = await Assert.ThrowsAsync<SmpcException>(() => SessionKindGuard.CallAsync(grains, key, Seed.Modeller(tenant), "secure-aggregation",
            () => grains.GetSecureAggregationSession(key).GetUnmaskMaterialAsync(Seed.Modeller(tenant)), SessionKind.SecureAggregation));
        Assert.Equal((SmpcErrorCode.Validation, "This is not a secure-aggregation session."), (guarded.Code, guarded.Message)); // ... which the guard tells apart
    }

    [Fact]
    public async Task AnOldFederatedRow_IsServedByTheFederatedGrain()
    {
        var grains = cluster.Grains;
        var tenant = await Seed.TenantWithMembersAsync(grains);
        var key = new EntityKey(tenant, "old-fed");
        var deadline = DateTimeOffset.UtcNow.AddHours(1).ToString("O");
        await WriteOldRowAsync(key, $$$"""
            {"ModellerId":"m1","Kind":3,"PodIds":["p1","p2","p3"],"Phase":11,"CreatedAt":"2026-12-01T09:00:00+00:00","Version":5,"TraceParent":null,
             "Aggregation":null,"Psi":null,
             "Federated":{"Spec":{"RequestJson":"{\"sql\":\"SELECT 1\"}","Lifetime":"02:00:00"},"Deadline":"{{{deadline}}}",
                          "MemberKeys":{"p1":{"PublicKey":"AQID","Signature":"BAUG"}},"SealedKeys":{},
                          "Rounds":[{"Round":"counts","SessionId":"old-fed-counts","CreatedAt":"2026-12-01T09:05:00+00:00","PodIds":null}],
                          "Releases":["r1"],"Metrics":[{"Round":"counts","Values":{"loss":0.5},"ReportedAt":"2026-12-01T09:06:00+00:00"}],
                          "FailureReason":null},
             "Parent":null,"Cancellation":null}
            """);

        var read = await grains.GetSession(key).GetAsync(Seed.Modeller(tenant));
        var finished = await grains.GetFederatedSession(key).FinishFederatedAsync(Seed.Modeller(tenant), null);

        Assert.Equal((SessionKind.FederatedQuery, SessionPhase.Running, 5), (read.Kind, read.Phase, read.Version));
        var f = read.Federated!;
        Assert.Equal(("SELECT 1", null), (f.Query!.Sql, f.Training)); // the request JSON, read as the typed spec
        Assert.Equal("02:00:00", (await ReadRowAsync("session-federated", "federated", key)).GetProperty("Lifetime").GetString());
        Assert.Equal([1, 2, 3], f.MemberKeys["p1"].PublicKey);
        Assert.Equal(("counts", "old-fed-counts"), (Assert.Single(f.Rounds).Round, f.Rounds[0].SessionId));
        Assert.Equal(["r1"], f.Releases);
        Assert.Equal(0.5, Assert.Single(f.Metrics).Values["loss"]);
        Assert.Equal((SessionPhase.Completed, 6), (finished.Phase, finished.Version));
    }

    [Fact]
    public async Task AFederatedRowWithItsRequestAsJson_IsReadAsTheTypedSpec_AndSavedInTheNewFormat()
    {
        var grains = cluster.Grains;
        var tenant = await Seed.TenantWithMembersAsync(grains);
        var key = new EntityKey(tenant, "json-fed");
        var deadline = DateTimeOffset.UtcNow.AddHours(1).ToString("O");
        // The federated grain's own row as it stored it while the gateway kept the REST request as JSON (web names).
        const string request = """
            {"sql":"SELECT ward, COUNT(*) AS n FROM admissions GROUP BY ward","source":"hospital",
             "groupBy":[{"column":"ward","values":["a","b"],"bins":null,"dateBins":null}],
             "aggregates":[{"name":"n","kind":"count","min":0,"max":0,"precision":null,"countColumn":null}],
             "minPooledCount":5,"maxRowsPerCell":1000,"roundTimeoutSeconds":60}
            """;
        await WriteRowAsync("session-federated", "federated", key, $$$"""
            {"Spec":{"RequestJson":{{{JsonSerializer.Serialize(request.ReplaceLineEndings("").Replace("  ", "", StringComparison.Ordinal))}}},"Lifetime":"01:00:00"},
             "Run":{"Phase":1,"Deadline":"{{{deadline}}}","MemberKeys":{"p1":{"PublicKey":"AQID","Signature":"BAUG"}},"SealedKeys":{},
                    "Rounds":[],"Releases":[],"Metrics":[],"FailureReason":null},
             "ModellerId":"m1","Kind":3,"PodIds":["p1","p2","p3"],"Phase":11,"CreatedAt":"2026-12-01T09:00:00+00:00","Version":2,
             "TraceParent":null,"Parent":null,"Cancellation":null}
            """);
        var grain = grains.GetFederatedSession(key);

        var read = await grain.GetAsync(Seed.Modeller(tenant));

        Assert.Equal((SessionKind.FederatedQuery, SessionPhase.Running, 2), (read.Kind, read.Phase, read.Version));
        Assert.Equivalent(Seed.QuerySpec(), read.Federated!.Query, strict: true);
        Assert.Null(read.Federated.Training);
        Assert.Equal([1, 2, 3], read.Federated.MemberKeys["p1"].PublicKey);
        // The modeller's retried create (its REST request mapped as the gateway maps it today) is the same session.
        var retried = await grains.GetSession(key).CreateAsync(Seed.Modeller(tenant), new CreateSession("m1", SessionKind.FederatedQuery, ["p1", "p2", "p3"], Query: Seed.QuerySpec()));
        Assert.Equal((2, CreatedAt), (retried.Version, retried.CreatedAt));

        var finished = await grain.FinishFederatedAsync(Seed.Modeller(tenant), null);

        Assert.Equal((SessionPhase.Completed, 3), (finished.Phase, finished.Version));
        // Saved again: the typed spec and the lifetime, no request JSON; a fresh activation reads the same.
        var row = await ReadRowAsync("session-federated", "federated", key);
        Assert.False(row.TryGetProperty("Spec", out var json) && json.ValueKind != JsonValueKind.Null, "the request JSON was written again");
        Assert.Equal(("hospital", "01:00:00"), (row.GetProperty("Query").GetProperty("Source").GetString(), row.GetProperty("Lifetime").GetString()));
        await grain.Cast<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();
        var again = await grain.GetAsync(Seed.Modeller(tenant));
        Assert.Equal((SessionPhase.Completed, 3), (again.Phase, again.Version));
        Assert.Equivalent(Seed.QuerySpec(), again.Federated!.Query, strict: true);
    }

    /// <summary>Writes state <paramref name="stateName"/> of grain <paramref name="grainType"/>/{key} as raw JSON.</summary>
    private async Task WriteRowAsync(string grainType, string stateName, EntityKey key, string json)
    {
        var storage = cluster.Cluster.GetSiloServiceProvider().GetRequiredKeyedService<IGrainStorage>(SmpcDatabase.GrainStorageName);
        using var document = JsonDocument.Parse(json);
        await storage.WriteStateAsync(stateName, GrainId.Create(grainType, key.ToString()), new GrainState<JsonElement>(document.RootElement.Clone()));
    }

    /// <summary>Reads state <paramref name="stateName"/> of grain <paramref name="grainType"/>/{key} as raw JSON.</summary>
    private async Task<JsonElement> ReadRowAsync(string grainType, string stateName, EntityKey key)
    {
        var storage = cluster.Cluster.GetSiloServiceProvider().GetRequiredKeyedService<IGrainStorage>(SmpcDatabase.GrainStorageName);
        var stored = new GrainState<JsonElement>();
        await storage.ReadStateAsync(stateName, GrainId.Create(grainType, key.ToString()), stored);
        Assert.True(stored.RecordExists);
        return stored.State;
    }

    /// <summary>Writes a session row as the single session grain did: state "session" of grain "session/{key}".</summary>
    private Task WriteOldRowAsync(EntityKey key, string json) => WriteRowAsync("session", "session", key, json);
}
