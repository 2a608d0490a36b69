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

        var cancelled = await session.CancelAsync(Seed.Modeller(tenant), "moved on");

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
        var accepted = await grains.GetPsiSession(key).AcceptPsiAsync(Interfaces.Access.Caller.Pod(tenant, "p1"), new PsiAccept(null, CountedByPod: false));

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
        Assert.Equal(("{\"sql\":\"SELECT 1\"}", TimeSpan.FromHours(2)), (f.Spec.RequestJson, f.Spec.Lifetime));
        Assert.Equal([1, 2, 3], f.MemberKeys["p1"].PublicKey);
        Assert.Equal(("counts", "old-fed-counts"), (Assert.Single(f.Rounds).Round, f.Rounds[0].SessionId));
        Assert.Equal(["r1"], f.Releases);
        Assert.Equal(0.5, Assert.Single(f.Metrics).Values["loss"]);
        Assert.Equal((SessionPhase.Completed, 6), (finished.Phase, finished.Version));
    }

    /// <summary>Writes a session row as the single session grain did: state "session" of grain "session/{key}".</summary>
    private async Task WriteOldRowAsync(EntityKey key, string json)
    {
        var storage = cluster.Cluster.GetSiloServiceProvider().GetRequiredKeyedService<IGrainStorage>(SmpcDatabase.GrainStorageName);
        using var document = JsonDocument.Parse(json);
        await storage.WriteStateAsync("session", GrainId.Create("session", key.ToString()), new GrainState<JsonElement>(document.RootElement.Clone()));
    }
}
