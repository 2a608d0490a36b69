using Smpc.Agent;
using Smpc.Agent.DataSources;
using Smpc.Agent.Query;
using Smpc.Client.Federated;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Federated;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecureAggregation;
using Smpc.Samples;

namespace Smpc.Integration.Tests.CheatingService;

/// <summary>
/// Issue #17, modeller identities: a service that seals its own content key to pods, or forges a release, through the real
/// service and real agents. The signatures are the modeller's (federated.md, "The modeller-to-pods channel"), so every pod
/// refuses before it opens either: none sends its values-round input (which depends on the release), and the session ends
/// failed with the named reason unverified-modeller.
/// </summary>
[Trait("Category", "Integration")]
public sealed class FederatedChannelAttackTests(CheatingWorld world) : IClassFixture<CheatingWorld>
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task An_honest_service_still_runs_a_signed_federated_query_to_its_table()
    {
        await using var t = await CheatingTenant.StartAsync(world, _ => { }, Hospital);
        using var cts = new CancellationTokenSource(Within);

        var outcome = await FederatedQueryRun.RunAsync(t.Modeller, t.Tenant, "q-honest", "m1", CheatingTenant.Pods, HospitalAdmissions.AgeBandQuery(minPooledCount: 5), ct: cts.Token);

        Assert.Equal(SessionPhases.Completed, outcome.Session.Phase);
        Assert.DoesNotContain(t.Log, l => l.Contains("REFUSED", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_content_key_the_service_sealed_to_the_pods_itself_gets_no_result_dependent_input()
    {
        // The service draws its own content key, seals it to each pod's (authentic) member key and signs the seal with the
        // only key it has: its own. Had pods opened it, the service could read and forge every release.
        using var forger = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        var serviceKey = FederatedChannel.NewContentKey(SystemRandomSource.Instance);
        await using var t = await CheatingTenant.StartAsync(world, h => h.Session = s => s.Federated is not { SealedKeys.Count: > 0 } f ? s : s with
        {
            Federated = f with
            {
                SealedKeys = f.SealedKeys.ToDictionary(b => b.Key, b =>
                {
                    var member = Convert.FromBase64String(f.MemberKeys[b.Key].PublicKey);
                    var box = FederatedChannel.SealContentKey(serviceKey, member, s.Tenant, s.Id, b.Key, SystemRandomSource.Instance);
                    return Convert.ToBase64String(FederatedChannel.SignContentKeySeal(forger, s.Tenant, s.Id, b.Key, member, box));
                }),
            },
        }, Hospital);

        await AssertRefusedAsync(t, "q-key");
    }

    [Fact]
    public async Task A_release_the_service_forged_gets_no_result_dependent_input()
    {
        // The service serves its own bytes as the "counts" release, signed with its own key.
        using var forger = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        await using var t = await CheatingTenant.StartAsync(world, h => h.Release = (name, stored) =>
        {
            var box = new byte[stored.Length - FederatedChannel.SignedOverhead];
            SystemRandomSource.Instance.Fill(box);
            return FederatedChannel.SignRelease(forger, "?", "?", name, box);
        }, Hospital);

        await AssertRefusedAsync(t, "q-release");
    }

    [Fact]
    public async Task A_release_replaced_by_an_unsigned_one_gets_no_result_dependent_input()
    {
        // The old, unsigned format: the modeller's own inner box with its version byte and signature stripped.
        await using var t = await CheatingTenant.StartAsync(world, h => h.Release = (_, stored) => stored[1..^64], Hospital);

        await AssertRefusedAsync(t, "q-unsigned");
    }

    /// <summary>
    /// The query fails at the values round with the named reason; no pod wrote anything to the values round (its masked
    /// input depends on the release), and each pod that refused said so in a REFUSED line.
    /// </summary>
    private static async Task AssertRefusedAsync(CheatingTenant t, string id)
    {
        using var cts = new CancellationTokenSource(Within);
        var failure = await Assert.ThrowsAsync<FederatedSessionFailedException>(() =>
            FederatedQueryRun.RunAsync(t.Modeller, t.Tenant, id, "m1", CheatingTenant.Pods, HospitalAdmissions.AgeBandQuery(minPooledCount: 5), ct: cts.Token));

        Assert.Contains(DeclineCategories.UnverifiedModeller, failure.Message, StringComparison.Ordinal);
        var session = await t.Modeller.GetSessionAsync(t.Tenant, id);
        Assert.Equal(SessionPhases.Failed, session.Phase);
        Assert.Contains(DeclineCategories.UnverifiedModeller, session.Federated!.FailureReason, StringComparison.Ordinal);
        var values = FederatedModeller.RoundSessionId(id, "values");
        foreach (var (pod, handler) in t.Handlers)
        {
            var writes = handler.ProtocolWrites().Where(w => w.Path.Contains($"/sessions/{values}/", StringComparison.Ordinal)).ToList();
            Assert.True(writes.Count == 0, $"{pod} sent {string.Join(", ", writes)} for the values round");
        }

        Assert.Contains(t.Log, l => l.Contains("REFUSED", StringComparison.Ordinal) && l.Contains(DeclineCategories.UnverifiedModeller, StringComparison.Ordinal));
    }

    private PodAgentConfig Hospital(PodAgentConfig config, Ed25519KeyPair modeller)
    {
        var folder = Path.Combine(world.Work, "data-" + config.Tenant, config.Pod); // deleted with the world
        Directory.CreateDirectory(folder);
        var seed = config.Pod switch { "p1" => 11, "p2" => 22, _ => 33 };
        var db = Path.Combine(folder, "hospital.db");
        HospitalAdmissions.Write(db, HospitalAdmissions.Generate(seed, 300));
        return config with
        {
            Sources = new() { ["hospital"] = new RecordSourceConfig { Kind = "sqlite", Path = db } },
            Query = new QueryPolicy { Tables = new() { ["admissions"] = ["age", "ward", "length_of_stay"] }, MinRowsPerGroup = 3 },
        };
    }
}
