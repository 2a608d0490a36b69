using System.Net;
using System.Text;
using Smpc.Client;
using Smpc.Client.Federated;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Federated;
using Smpc.Protocols.Randomness;
using Smpc.Samples;

namespace Smpc.Gateway.Tests.Federated;

/// <summary>
/// Bad, forged, replayed, cross-tenant and out-of-phase messages of federated sessions through the real gateway: each is
/// refused with a problem of a stable type and leaves the session exactly as it was.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class FederatedRejectionTests(EmbeddedService service)
{
    private static readonly string[] Pods = ["p1", "p2", "p3"];

    private async Task<(TenantClients T, SessionResponse Session)> QuerySessionAsync(string id = "q")
    {
        var t = await Scenario.TenantAsync(service);
        var session = await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(id, "m1", SessionKinds.Query, Pods, Query: HospitalAdmissions.AgeBandQuery()));
        return (t, session);
    }

    private static MemberKeyRequest MemberKey(TenantClients t, string session, string pod, Ed25519KeyPair? signer = null, string? signedSession = null)
    {
        using var member = X25519KeyPair.Generate(SystemRandomSource.Instance);
        var signature = FederatedChannel.SignMemberKey(signer ?? t.Identities[pod], t.Tenant, signedSession ?? session, pod, member.PublicKey);
        return new MemberKeyRequest(Convert.ToBase64String(member.PublicKey), Convert.ToBase64String(signature));
    }

    private static async Task ExpectAsync(HttpStatusCode status, string type, Func<Task> call, string? detail = null)
    {
        var error = await Assert.ThrowsAsync<SmpcApiException>(call);
        Assert.Equal((status, type), (error.Status, error.Type));
        if (detail is not null) Assert.Contains(detail, error.Detail, StringComparison.Ordinal);
    }

    private static async Task<int> VersionAsync(TenantClients t, string id = "q") => (await t.Modeller.GetSessionAsync(t.Tenant, id)).Version;

    [Fact]
    public async Task SpecsThatCannotBeEncoded_AreRefusedUpFront()
    {
        var t = await Scenario.TenantAsync(service);
        var noCount = HospitalAdmissions.AgeBandQuery() with { Aggregates = [new QueryAggregateRequest("total_stay", "sum", 0, 1000)] };
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("q", "m1", SessionKinds.Query, Pods, Query: noCount)), "count");
        var huge = new TrainingRequest("logistic", "s", ["x"], "y", FeatureBound: 1e12, MaxSamplesPerPod: 1_000_000_000);
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("tr", "m1", SessionKinds.Training, Pods, Training: huge)));
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("q2", "m1", SessionKinds.Query, ["p1", "p2"], Query: HospitalAdmissions.AgeBandQuery())), "3 to 50");
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("q3", "m1", SessionKinds.Query, Pods)), "query");
    }

    [Fact]
    public async Task MemberKeys_ForAnotherPod_ForgedOrForAnotherSession_AreRefused_AndAReplayIsIdempotent()
    {
        var (t, _) = await QuerySessionAsync();
        var before = await VersionAsync(t);
        await ExpectAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Pods["p1"].PutMemberKeyAsync(t.Tenant, "q", "p2", MemberKey(t, "q", "p2")));
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => t.Pods["p1"].PutMemberKeyAsync(t.Tenant, "q", "p1", MemberKey(t, "q", "p1", signer: t.Identities["p2"])), "not signed");
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => t.Pods["p1"].PutMemberKeyAsync(t.Tenant, "q", "p1", MemberKey(t, "q", "p1", signedSession: "other")), "not signed");
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => t.Pods["p1"].PutMemberKeyAsync(t.Tenant, "q", "p1", new MemberKeyRequest("not base64!", "AAAA")));
        await ExpectAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Modeller.PutMemberKeyAsync(t.Tenant, "q", "m1", MemberKey(t, "q", "p1")));
        Assert.Equal(before, await VersionAsync(t));

        var key = MemberKey(t, "q", "p1");
        var accepted = await t.Pods["p1"].PutMemberKeyAsync(t.Tenant, "q", "p1", key);
        Assert.Equal(accepted.Version, (await t.Pods["p1"].PutMemberKeyAsync(t.Tenant, "q", "p1", key)).Version); // a replay changes nothing
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.Conflict, () => t.Pods["p1"].PutMemberKeyAsync(t.Tenant, "q", "p1", MemberKey(t, "q", "p1")));
        Assert.Equal(accepted.Version, await VersionAsync(t));
    }

    [Fact]
    public async Task OutOfOrderSteps_AreRefused_WithoutChangingTheSession()
    {
        var (t, _) = await QuerySessionAsync();
        var box = Convert.ToBase64String(new byte[FederatedChannel.SignedContentKeySize]);
        var boxes = Pods.ToDictionary(p => p, _ => Convert.FromBase64String(box));
        await t.Pods["p1"].PutMemberKeyAsync(t.Tenant, "q", "p1", MemberKey(t, "q", "p1"));
        var before = await VersionAsync(t);

        // Sealed keys before every member key; releases before sealed keys; a round before either; metrics for no round.
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Modeller.PutSealedKeysAsync(t.Tenant, "q", boxes), "p2");
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Modeller.UploadReleaseAsync(t.Tenant, "q", "counts", new byte[40]));
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(
            "q-counts", "m1", SessionKinds.SecureAggregation, Pods, Scenario.SmallAggregation() with { Input = "counts" }, Parent: "q")));
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => t.Modeller.ReportRoundMetricsAsync(t.Tenant, "q", "counts", new Dictionary<string, double> { ["loss"] = 1 }));
        // Pods do not write releases or metrics, nor finish; the modeller does not decline.
        await ExpectAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Pods["p1"].UploadReleaseAsync(t.Tenant, "q", "counts", new byte[40]));
        await ExpectAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Pods["p1"].FinishFederatedAsync(t.Tenant, "q"));
        await ExpectAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Modeller.DeclineFederatedAsync(t.Tenant, "q", "no"));
        // The generic payload route cannot write a release.
        await ExpectAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Modeller.UploadPayloadAsync(t.Tenant, "q", "release-counts", new MemoryStream(new byte[40])));
        Assert.Equal(before, await VersionAsync(t));
    }

    [Fact]
    public async Task Rounds_WithStrangerPods_OrFromAnotherModeller_OrAnotherTenant_AreRefused()
    {
        var (t, _) = await QuerySessionAsync();
        foreach (var pod in Pods) await t.Pods[pod].PutMemberKeyAsync(t.Tenant, "q", pod, MemberKey(t, "q", pod));
        await t.Modeller.PutSealedKeysAsync(t.Tenant, "q", Pods.ToDictionary(p => p, _ => new byte[FederatedChannel.SignedContentKeySize]));
        var p4 = await t.Admin.RegisterPodAsync(t.Tenant, new RegisterPodRequest("p4", "Pod 4", Convert.ToBase64String(Ed25519KeyPair.Generate(SystemRandomSource.Instance).PublicKey)));
        var before = await VersionAsync(t);

        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(
            "q-counts", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p4"], Scenario.SmallAggregation() with { Input = "counts" }, Parent: "q")), "p4");
        var m2 = service.Anonymous.WithKey((await t.Admin.RegisterModellerAsync(t.Tenant, new RegisterModellerRequest("m2", "Other"))).ApiKey!.ApiKey);
        await ExpectAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => m2.CreateSessionAsync(t.Tenant, new CreateSessionRequest(
            "m2-counts", "m2", SessionKinds.SecureAggregation, Pods, Scenario.SmallAggregation() with { Input = "counts" }, Parent: "q")));
        await ExpectAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => m2.GetSessionAsync(t.Tenant, "q"));
        await ExpectAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => service.Anonymous.WithKey(p4.ApiKey!.ApiKey).DownloadReleaseAsync(t.Tenant, "q", "counts"));

        var other = await Scenario.TenantAsync(service);
        await ExpectAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => other.Modeller.GetSessionAsync(t.Tenant, "q"));
        await ExpectAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => other.Pods["p1"].PutMemberKeyAsync(t.Tenant, "q", "p1", MemberKey(other, "q", "p1")));
        await ExpectAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => other.Modeller.DownloadReleaseAsync(t.Tenant, "q", "counts"));
        Assert.Equal(before, await VersionAsync(t));
    }

    [Fact]
    public async Task ARoundLabelRunsOnce_AndARejectedRoundDoesNotJoinItsParent()
    {
        var (t, _) = await QuerySessionAsync();
        foreach (var pod in Pods) await t.Pods[pod].PutMemberKeyAsync(t.Tenant, "q", pod, MemberKey(t, "q", pod));
        await t.Modeller.PutSealedKeysAsync(t.Tenant, "q", Pods.ToDictionary(p => p, _ => new byte[FederatedChannel.SignedContentKeySize]));
        var counts = Scenario.SmallAggregation() with { Input = "counts" };
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(
            "q-bad", "m1", SessionKinds.SecureAggregation, Pods, counts with { PhaseTimeoutSeconds = 0 }, Parent: "q")));
        Assert.Empty((await t.Modeller.GetSessionAsync(t.Tenant, "q")).Federated!.Rounds);

        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("q-counts", "m1", SessionKinds.SecureAggregation, Pods, counts, Parent: "q"));
        var before = await VersionAsync(t);
        // The same label again (as a repeat over the same pods would allow subtracting dropouts) is refused.
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.Conflict, () => t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(
            "q-counts-again", "m1", SessionKinds.SecureAggregation, Pods, counts, Parent: "q")), "runs once");
        var round = Assert.Single((await t.Modeller.GetSessionAsync(t.Tenant, "q")).Federated!.Rounds);
        Assert.Equal(("counts", "q-counts"), (round.Round, round.SessionId));
        Assert.Equal(Pods, round.PodIds);
        Assert.Equal(before, await VersionAsync(t));
    }

    [Fact]
    public async Task AfterAPodDeclines_NothingMoreIsAccepted_AndTheReasonIsShown()
    {
        var (t, _) = await QuerySessionAsync();
        var declined = await t.Pods["p2"].DeclineFederatedAsync(t.Tenant, "q", "table admissions is not open to queries");
        Assert.Equal(SessionPhases.Failed, declined.Phase);
        Assert.Equal("Pod p2 declined: table admissions is not open to queries", declined.Federated!.FailureReason);
        Assert.Equal(declined.Version, (await t.Pods["p2"].DeclineFederatedAsync(t.Tenant, "q", "table admissions is not open to queries")).Version);

        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Pods["p1"].PutMemberKeyAsync(t.Tenant, "q", "p1", MemberKey(t, "q", "p1")));
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Pods["p3"].DeclineFederatedAsync(t.Tenant, "q", "me too"));
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Modeller.FinishFederatedAsync(t.Tenant, "q"));
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => t.Pods["p1"].DeclineFederatedAsync(t.Tenant, "q", new string('x', 501)));
        Assert.Equal(declined.Version, await VersionAsync(t));
    }

    [Fact]
    public async Task ReleasesAreCiphertext_TheServiceStoresNoPooledCountsOrParameters()
    {
        var (t, _) = await QuerySessionAsync();
        var keys = new Dictionary<string, X25519KeyPair>();
        foreach (var pod in Pods)
        {
            keys[pod] = X25519KeyPair.Generate(SystemRandomSource.Instance);
            var signature = FederatedChannel.SignMemberKey(t.Identities[pod], t.Tenant, "q", pod, keys[pod].PublicKey);
            await t.Pods[pod].PutMemberKeyAsync(t.Tenant, "q", pod, new MemberKeyRequest(Convert.ToBase64String(keys[pod].PublicKey), Convert.ToBase64String(signature)));
        }

        var contentKey = FederatedChannel.NewContentKey(SystemRandomSource.Instance);
        var modeller = t.Modeller.ModellerIdentity!;
        await t.Modeller.PutSealedKeysAsync(t.Tenant, "q", Pods.ToDictionary(p => p, p => FederatedChannel.SignContentKeySeal(
            modeller, t.Tenant, "q", p, keys[p].PublicKey, FederatedChannel.SealContentKey(contentKey, keys[p].PublicKey, t.Tenant, "q", p, SystemRandomSource.Instance))));
        const string marker = "{\"pooledCounts\":[918273645546372819]}";
        await t.Modeller.UploadReleaseAsync(t.Tenant, "q", "counts", FederatedChannel.SignRelease(modeller, t.Tenant, "q", "counts",
            FederatedChannel.SealRelease(contentKey, t.Tenant, "q", "counts", Encoding.UTF8.GetBytes(marker), SystemRandomSource.Instance)));

        // Every pod opens it with its own member key; the service's database holds no trace of it.
        foreach (var pod in Pods)
        {
            var session = await t.Pods[pod].GetSessionAsync(t.Tenant, "q");
            var box = FederatedChannel.VerifyContentKeySeal(modeller.PublicKey, Convert.FromBase64String(session.Federated!.SealedKeys[pod]), t.Tenant, "q", pod, keys[pod].PublicKey);
            var key = FederatedChannel.OpenContentKey(keys[pod], box, t.Tenant, "q", pod);
            var signedRelease = await t.Pods[pod].DownloadReleaseAsync(t.Tenant, "q", "counts");
            var release = FederatedChannel.VerifyRelease(modeller.PublicKey, signedRelease, t.Tenant, "q", "counts");
            Assert.Equal(marker, Encoding.UTF8.GetString(FederatedChannel.OpenRelease(key, t.Tenant, "q", "counts", release)));
        }

        Assert.False(DatabaseContains(service.DatabasePath, "918273645546372819"), "the release's plaintext is in the service's database");
        foreach (var key in keys.Values) key.Dispose();
    }

    private static bool DatabaseContains(string path, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        foreach (var file in new[] { path, path + "-wal" }.Where(File.Exists))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            if (copy.ToArray().AsSpan().IndexOf(needle) >= 0) return true;
        }

        return false;
    }
}
