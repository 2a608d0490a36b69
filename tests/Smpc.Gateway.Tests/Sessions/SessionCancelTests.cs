using System.Net;
using Smpc.Agent.SecureAggregation;
using Smpc.Client;
using Smpc.Client.Federated;
using Smpc.Client.Identity;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Gateway.Tests.Audit;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Federated;
using Smpc.Protocols.Randomness;
using Smpc.Samples;

namespace Smpc.Gateway.Tests.Sessions;

/// <summary>Cancelling a session through the real gateway: who may, what the session and its pods do, what the audit log records.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class SessionCancelTests(EmbeddedService service)
{
    private static AggregationRequest Spec() => new([new AggregationFieldRequest("x", 2, -10, 10)], "sum", "", "x");

    /// <summary>Pods p1 and p2 publish their key bundles and wait; p3 never starts, so the key exchange stays open.</summary>
    private static List<Task<SessionResponse>> StartPods(TenantClients t, string session, CancellationToken ct) =>
        [.. new[] { "p1", "p2" }.Select(p => new SecureAggregationPodDriver(t.Pods[p], t.Tenant, session, p, t.Identities[p], _ => [1, 2]).RunAsync(ct))];

    private static async Task WaitForBundlesAsync(TenantClients t, string session, int count)
    {
        var s = await t.Modeller.GetSessionAsync(t.Tenant, session);
        while (s.Aggregation!.KeyBundles.Count < count) s = await t.Modeller.WaitForSessionChangeAsync(t.Tenant, session, s.Version, 5);
    }

    [Fact]
    public async Task A_modellers_cancel_is_signed_and_a_pod_tells_it_from_one_the_service_makes()
    {
        var t = await Scenario.TenantAsync(service);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "c-signed", "m1", ["p1", "p2", "p3"], Spec());
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var verifier = new ModellerVerifier(t.Pods["p1"], new PinStore(null, notice: _ => { }));
        var pod = new SecureAggregationPodDriver(t.Pods["p1"], t.Tenant, "c-signed", "p1", t.Identities["p1"], _ => [1, 2]) { Verifier = verifier }.RunAsync(cts.Token);
        await WaitForBundlesAsync(t, "c-signed", 1);

        var cancelled = await t.Modeller.CancelSessionAsync(t.Tenant, "c-signed", " wrong pods ");
        var final = await pod;

        Assert.Equal(SessionPhases.Cancelled, final.Phase);
        Assert.NotNull(cancelled.Cancellation!.Signature);
        Assert.Equal(" wrong pods ", final.Cancellation!.SignedReason);
        Assert.True(verifier.CancelledByModeller(final));
        Assert.False(verifier.CancelledByModeller(final with { Cancellation = final.Cancellation with { Signature = null } }));
        Assert.False(verifier.CancelledByModeller(final with { Cancellation = final.Cancellation with { SignedReason = "another reason" } }));
    }

    [Fact]
    public async Task Cancel_ByTheModeller_EndsTheSession_StopsItsPods_RefusesLaterMessages_AndIsAudited()
    {
        var t = await Scenario.TenantAsync(service);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "c1", "m1", ["p1", "p2", "p3"], Spec());
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var pods = StartPods(t, "c1", cts.Token);
        await WaitForBundlesAsync(t, "c1", 2);

        var cancelled = await t.Modeller.CancelSessionAsync(t.Tenant, "c1", "  wrong input chosen ");

        Assert.Equal(SessionPhases.Cancelled, cancelled.Phase);
        Assert.Equal(new CancellationResponse("Modeller", "m1", "wrong input chosen", cancelled.Cancellation!.At, cancelled.Cancellation.Signature, cancelled.Cancellation.SignedReason), cancelled.Cancellation);
        Assert.NotNull(cancelled.Cancellation.Signature); // the modeller signs its cancel (docs/protocols/signatures.md)
        // The pods were long-polling: they see the cancellation at once (the service's clock never moves here).
        var ended = await Task.WhenAll(pods).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(ended, s => Assert.Equal(SessionPhases.Cancelled, s.Phase));

        // Later protocol messages are refused as wrong-phase, naming who cancelled; the modeller's wait ends with the reason.
        var late = await Assert.ThrowsAsync<SmpcApiException>(() => t.Pods["p3"].SubmitKeyBundleAsync(t.Tenant, "c1", [1, 2, 3]));
        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.WrongPhase), (late.Status, late.Type));
        Assert.Contains("cancelled by modeller m1: wrong input chosen", late.Detail, StringComparison.Ordinal);
        var material = await Assert.ThrowsAsync<SmpcApiException>(() => t.Modeller.GetUnmaskMaterialAsync(t.Tenant, "c1"));
        Assert.Equal(HttpStatusCode.Conflict, material.Status);
        var failed = await Assert.ThrowsAsync<SecureAggregationFailedException>(() => modeller.WaitForResultAsync(cts.Token));
        Assert.Equal("the session was cancelled by modeller m1: wrong input chosen", failed.Message);

        // Idempotent: a second cancel answers the same cancellation.
        var again = await t.Modeller.CancelSessionAsync(t.Tenant, "c1", "another reason");
        Assert.Equal(cancelled.Cancellation, again.Cancellation);
        Assert.Equal(cancelled.Version, again.Version);

        var entries = await AuditReading.AllAsync(t.Admin, t.Tenant, new AuditFilter(Session: "c1"));
        var entry = Assert.Single(entries, e => e.Type == AuditEventTypes.SessionCancelled);
        Assert.Equal(("Modeller", "m1", "wrong input chosen"), (entry.Actor.Role, entry.Actor.Subject, entry.Detail));
    }

    [Fact]
    public async Task Cancel_ByTheTenantAdmin_IsRecordedAsTheAdmins_WithoutAReason()
    {
        var t = await Scenario.TenantWithSessionAsync(service, "c2");

        var cancelled = await t.Admin.CancelSessionAsync(t.Tenant, "c2");

        Assert.Equal(SessionPhases.Cancelled, cancelled.Phase);
        Assert.Equal(("TenantAdmin", null, null), (cancelled.Cancellation!.Role, cancelled.Cancellation.By, cancelled.Cancellation.Reason));
        Assert.Equal(SessionPhases.Cancelled, (await t.Pods["p1"].GetSessionAsync(t.Tenant, "c2")).Phase);
        var entries = await AuditReading.AllAsync(t.Admin, t.Tenant, new AuditFilter(Session: "c2"));
        var entry = Assert.Single(entries, e => e.Type == AuditEventTypes.SessionCancelled);
        Assert.Equal(("TenantAdmin", (string?)null), (entry.Actor.Role, entry.Detail));
        var refused = await Assert.ThrowsAsync<SmpcApiException>(() => t.Modeller.CompleteAggregationAsync(t.Tenant, "c2", [1, 2, 3]));
        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.WrongPhase), (refused.Status, refused.Type));
        Assert.Contains("cancelled by the tenant admin", refused.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_IsRefused_ToItsPods_OtherMembers_OtherTenants_AndTheOperator()
    {
        var t = await Scenario.TenantWithSessionAsync(service, "c3");
        var m2 = await t.Admin.RegisterModellerAsync(t.Tenant, new RegisterModellerRequest("m2", "Other modeller"));
        var p4 = await t.Admin.RegisterPodAsync(t.Tenant, new RegisterPodRequest("p4", "Other pod", Convert.ToBase64String(new byte[32])));
        var foreign = await Scenario.TenantAsync(service);

        await AuditReading.RefusedAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Pods["p1"].CancelSessionAsync(t.Tenant, "c3"));
        await AuditReading.RefusedAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => service.Anonymous.WithKey(m2.ApiKey!.ApiKey).CancelSessionAsync(t.Tenant, "c3"));
        await AuditReading.RefusedAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => service.Anonymous.WithKey(p4.ApiKey!.ApiKey).CancelSessionAsync(t.Tenant, "c3"));
        await AuditReading.RefusedAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => foreign.Admin.CancelSessionAsync(t.Tenant, "c3"));
        await AuditReading.RefusedAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => foreign.Modeller.CancelSessionAsync(t.Tenant, "c3"));
        await AuditReading.RefusedAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => service.Operator.CancelSessionAsync(t.Tenant, "c3"));

        var session = await t.Admin.GetSessionAsync(t.Tenant, "c3");
        Assert.Equal(SessionPhases.KeyExchange, session.Phase);
        Assert.Null(session.Cancellation);
        Assert.DoesNotContain(await AuditReading.AllAsync(t.Admin, t.Tenant, new AuditFilter(Session: "c3")), e => e.Type == AuditEventTypes.SessionCancelled);
    }

    [Fact]
    public async Task Cancel_OfAnEndedSession_IsRefused_AsWrongPhase_AndACancelledSessionHasEnded()
    {
        var t = await Scenario.TenantWithSessionAsync(service, "c4");
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("c5", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        await t.Modeller.CancelSessionAsync(t.Tenant, "c5");
        service.Clock.Advance(TimeSpan.FromSeconds(301)); // c4's key exchange passes its deadline with no pod: it fails

        var refused = await Assert.ThrowsAsync<SmpcApiException>(() => t.Modeller.CancelSessionAsync(t.Tenant, "c4"));
        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.WrongPhase), (refused.Status, refused.Type));
        Assert.Contains("already failed", refused.Detail, StringComparison.Ordinal);
        var tooLong = await Assert.ThrowsAsync<SmpcApiException>(() => t.Modeller.CancelSessionAsync(t.Tenant, "c5", new string('x', 501)));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.Status);
        // Cancelled is an end state: it no longer takes one of the tenant's concurrent-session slots.
        Assert.True(await service.Grains.GetSession(new EntityKey(t.Tenant, "c5")).HasEndedAsync());
    }

    [Fact]
    public async Task Cancel_OfAFederatedSession_CancelsItsRunningRounds_AndDeletesItsReleases()
    {
        var t = await Scenario.TenantAsync(service);
        string[] pods = ["p1", "p2", "p3"];
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("fq", "m1", SessionKinds.Query, pods, Query: HospitalAdmissions.AgeBandQuery()));
        foreach (var pod in pods)
        {
            using var member = X25519KeyPair.Generate(SystemRandomSource.Instance);
            var signature = FederatedChannel.SignMemberKey(t.Identities[pod], t.Tenant, "fq", pod, member.PublicKey);
            await t.Pods[pod].PutMemberKeyAsync(t.Tenant, "fq", pod, new MemberKeyRequest(Convert.ToBase64String(member.PublicKey), Convert.ToBase64String(signature)));
        }

        await t.Modeller.PutSealedKeysAsync(t.Tenant, "fq", pods.ToDictionary(p => p, _ => new byte[FederatedChannel.SignedContentKeySize]));
        await t.Modeller.UploadReleaseAsync(t.Tenant, "fq", "counts", new byte[64]);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(
            "fq-counts", "m1", SessionKinds.SecureAggregation, pods, Scenario.SmallAggregation() with { Input = "counts" }, Parent: "fq"));

        var parent = await t.Admin.CancelSessionAsync(t.Tenant, "fq", "the study was withdrawn");

        Assert.Equal(SessionPhases.Cancelled, parent.Phase);
        var round = await t.Modeller.GetSessionAsync(t.Tenant, "fq-counts");
        Assert.Equal(SessionPhases.Cancelled, round.Phase);
        Assert.Equal(("TenantAdmin", "its federated session fq was cancelled: the study was withdrawn"), (round.Cancellation!.Role, round.Cancellation.Reason));
        var release = await Assert.ThrowsAsync<SmpcApiException>(() => t.Pods["p1"].DownloadReleaseAsync(t.Tenant, "fq", "counts"));
        Assert.Equal(HttpStatusCode.Conflict, release.Status);
        var member2 = await Assert.ThrowsAsync<SmpcApiException>(() => t.Modeller.ReportRoundMetricsAsync(t.Tenant, "fq", "counts", new Dictionary<string, double> { ["loss"] = 1 }));
        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.WrongPhase), (member2.Status, member2.Type));
    }
}
