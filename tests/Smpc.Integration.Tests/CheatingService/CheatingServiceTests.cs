using Smpc.Client;
using Smpc.Client.Identity;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Integration.Tests.CheatingService;

/// <summary>
/// Finding 1 of issue #17 through the real service: a service that rewrites what it relays to pods (the modeller's
/// session key M, t, the pod order, the layout, the PSI or training spec, the modeller's identity) or fabricates a
/// session from an allowed modeller. Every pod must send nothing but a decline, and end with a named error.
/// </summary>
[Trait("Category", "Integration")]
public sealed class CheatingServiceTests(CheatingWorld world) : IClassFixture<CheatingWorld>
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task An_honest_service_still_runs_a_signed_session_to_its_result()
    {
        await using var t = await CheatingTenant.StartAsync(world, _ => { });
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "honest", "m1", CheatingTenant.Pods, CheatingTenant.Aggregation());
        using var cts = new CancellationTokenSource(Within);
        var outcome = await modeller.WaitForResultAsync(cts.Token);
        Assert.Equal([6.0, 6.0], outcome.Values["x"].Select(v => Math.Round(v)));
        Assert.Contains(t.Log, l => l.Contains("FIRST USE: pinned modeller 'm1'", StringComparison.Ordinal));
    }

    public static TheoryData<string> AggregationAttacks => ["modeller-key", "threshold", "pod-order", "layout", "unsigned", "operation"];

    [Theory]
    [MemberData(nameof(AggregationAttacks))]
    public async Task A_rewritten_aggregation_session_gets_nothing_from_any_pod(string attack)
    {
        var attacker = X25519KeyPair.Generate(SystemRandomSource.Instance);
        Func<SessionResponse, SessionResponse> rewrite = attack switch
        {
            "modeller-key" => s => s with { Aggregation = s.Aggregation! with { ModellerPublicKey = Convert.ToBase64String(attacker.PublicKey) } },
            "threshold" => s => s with { Aggregation = s.Aggregation! with { Threshold = 3 } },
            "pod-order" => s => s with { PodIds = [.. s.PodIds.Reverse()] },
            "layout" => s => s with { Aggregation = s.Aggregation! with { Fields = [new AggregationFieldRequest("x", 2, -10, 20)] } },
            "unsigned" => s => s with { ModellerSignature = null },
            "operation" => s => s with { Aggregation = s.Aggregation! with { Operation = "mean" } },
            _ => throw new ArgumentOutOfRangeException(nameof(attack)),
        };
        await using var t = await CheatingTenant.StartAsync(world, h => h.Session = rewrite);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "s-" + attack, "m1", CheatingTenant.Pods, CheatingTenant.Aggregation());

        var final = await t.WaitAsync("s-" + attack, s => s.Aggregation!.Pods!.All(p => p.Status == PodStatuses.Declined) || s.HasEnded(), Within);

        AssertAllRefused(t, final);
        Assert.True(t.Log.Count(l => l.Contains("REFUSED", StringComparison.Ordinal)) >= 2, string.Join("\n", t.Log));
    }

    [Fact]
    public async Task A_session_the_service_signs_itself_for_an_allowed_pinned_modeller_is_refused()
    {
        // The service controls the registry: it presents its own key as m1's and signs a session with it. Pods that pinned
        // m1 (configured) and allow only m1 refuse it before any step.
        var forger = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        await using var t = await CheatingTenant.StartAsync(world,
            h => h.Modeller = m => m with { IdentityPublicKey = Convert.ToBase64String(forger.PublicKey), IdentityFingerprint = forger.Fingerprint },
            (c, real) => c with { ModellerPins = new() { ["m1"] = real.Fingerprint }, Policy = c.Policy with { Modellers = ["m1"] } });
        var forged = t.Modeller.WithModellerIdentity(forger); // what the service can sign: never with m1's pinned key
        using var modeller = await ModellerAggregation.CreateAsync(forged, t.Tenant, "forged", "m1", CheatingTenant.Pods, CheatingTenant.Aggregation());

        var final = await t.WaitAsync("forged", s => s.Aggregation!.Pods!.All(p => p.Status == PodStatuses.Declined) || s.HasEnded(), Within);

        AssertAllRefused(t, final);
        Assert.Contains(t.Log, l => l.Contains(UnverifiedReasons.PinMismatch, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_modeller_registered_without_an_identity_key_runs_no_session_on_pods()
    {
        await using var t = await CheatingTenant.StartAsync(world, _ => { }, modellerHasKey: false);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "keyless", "m1", CheatingTenant.Pods, CheatingTenant.Aggregation());

        var final = await t.WaitAsync("keyless", s => s.Aggregation!.Pods!.All(p => p.Status == PodStatuses.Declined) || s.HasEnded(), Within);

        AssertAllRefused(t, final);
        Assert.Contains(t.Log, l => l.Contains(UnverifiedReasons.NoIdentity, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rewritten_psi_spec_gets_no_reply_and_no_key_from_the_pod()
    {
        await using var t = await CheatingTenant.StartAsync(world, h => h.Session = s => s.Psi is null ? s : s with { Psi = s.Psi with { ModellerSetSize = 1_000_000 } });
        var spec = new PsiRequest(PsiModeNames.Intersection, [new PsiColumnRequest("email", "email")], [new PsiColumnRequest("email", "email")], "customers", 10,
            Version: PsiProtocolNames.EcdhOprfV1);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("psi", "m1", SessionKinds.Psi, ["p1"], Psi: spec));

        var final = await t.WaitAsync("psi", s => s.HasEnded(), Within);

        Assert.Equal(SessionPhases.Failed, final.Phase);
        Assert.Contains("signature", final.Psi!.FailureReason, StringComparison.Ordinal);
        AssertNothingSecretSent(t);
    }

    [Fact]
    public async Task A_rewritten_training_spec_gets_no_member_key_from_any_pod()
    {
        await using var t = await CheatingTenant.StartAsync(world,
            h => h.Session = s => s.Federated?.Training is null ? s : s with { Federated = s.Federated with { Training = s.Federated.Training with { Rounds = 500 } } });
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("train", "m1", SessionKinds.Training, CheatingTenant.Pods,
            Training: new TrainingRequest("linear", "patients", ["age"], "y", Rounds: 3)));

        var final = await t.WaitAsync("train", s => s.HasEnded(), Within);

        Assert.Equal(SessionPhases.Failed, final.Phase);
        Assert.Contains("signature", final.Federated!.FailureReason, StringComparison.Ordinal);
        AssertNothingSecretSent(t);
    }

    [Fact]
    public async Task The_modeller_refuses_a_session_the_service_stores_with_other_parameters()
    {
        await using var t = await CheatingTenant.StartAsync(world, _ => { });
        var attacker = X25519KeyPair.Generate(SystemRandomSource.Instance);
        var handler = new RewritingHandler(new HttpClientHandler())
        {
            Session = s => s with { Aggregation = s.Aggregation! with { ModellerPublicKey = Convert.ToBase64String(attacker.PublicKey) } },
        };
        var modellerKey = t.Modeller.ApiKey;
        var cheated = new SmpcClient(new HttpClient(handler) { BaseAddress = world.BaseAddress }, modellerKey).WithModellerIdentity(t.ModellerIdentity);

        await Assert.ThrowsAsync<SessionMismatchException>(() =>
            ModellerAggregation.CreateAsync(cheated, t.Tenant, "echo", "m1", CheatingTenant.Pods, CheatingTenant.Aggregation()));
    }

    /// <summary>
    /// Every pod refused: the session never completed, each pod that declined before the session failed (once too few
    /// pods are left for t it fails, and later declines have nothing to end) named the unverified signature, and no pod sent
    /// anything but a decline.
    /// </summary>
    private static void AssertAllRefused(CheatingTenant t, SessionResponse final)
    {
        Assert.NotEqual(SessionPhases.Completed, final.Phase);
        var declined = final.Aggregation!.Pods!.Where(p => p.Status == PodStatuses.Declined).ToList();
        Assert.True(declined.Count >= 2, $"declined: {declined.Count}");
        Assert.All(declined, p => Assert.Equal(DeclineCategories.UnverifiedModeller, p.DeclineCategory));
        AssertNothingSecretSent(t);
    }

    private static void AssertNothingSecretSent(CheatingTenant t)
    {
        foreach (var (pod, handler) in t.Handlers)
            Assert.True(handler.ProtocolWrites().Count == 0, $"{pod} sent {string.Join(", ", handler.ProtocolWrites())}");
    }
}
