using System.Net;
using System.Text;
using Smpc.Client;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Federated;
using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Gateway.Tests.Attacks;

/// <summary>
/// Replayed and reordered protocol messages: a message of another session or tenant, a step before its phase, a second
/// message with other bytes, a message from a party that was dropped. Each is refused with its status and problem type,
/// and the session (version, phase, progress) is exactly as before. Complements SecureAggregationRejectionTests,
/// PsiRejectionTests and FederatedRejectionTests with the replays they do not cover.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class ReplayAttackTests(EmbeddedService service)
{
    private const ulong Q = (1UL << 61) - 1;
    private static readonly string[] Pods = ["p1", "p2", "p3"];

    private Task<AttackTenant> TenantAsync() => AttackTenant.CreateAsync(service, ["m1"], Pods);

    /// <summary>Refused with exactly <paramref name="status"/>/<paramref name="type"/>, and <paramref name="seen"/> reads the same after.</summary>
    private static async Task RefusedAsync(Func<Task<string>> seen, HttpStatusCode status, string type, Func<Task> call)
    {
        var before = await seen();
        await Expect.ProblemAsync(status, type, call);
        Assert.Equal(before, await seen());
    }

    // Secure aggregation

    private sealed class AggRun(AttackTenant t, string id, SessionResponse session, IReadOnlyDictionary<int, string> pins) : IDisposable
    {
        private readonly Dictionary<int, SecureAggregationParty> _parties = [];

        public AttackTenant T { get; } = t;

        public string Id { get; } = id;

        public SmpcClient Pod(int party) => T.Client($"p{party}");

        public SecureAggregationParty Party(int party)
        {
            if (!_parties.TryGetValue(party, out var p))
                _parties[party] = p = new SecureAggregationParty(AggregationSession.Parameters(session), party, T.Identities[$"p{party}"], SystemRandomSource.Instance, pins);
            return p;
        }

        public Task<SessionResponse> GetAsync() => T.Client("m1").GetSessionAsync(T.Tenant, Id);

        /// <summary>Version, phase and every party list of the session.</summary>
        public async Task<string> SeenAsync()
        {
            var s = await GetAsync();
            var a = s.Aggregation!;
            return $"v{s.Version} {s.Phase} bundles [{string.Join(",", a.KeyBundles)}] shares [{string.Join(",", a.ShareSenders)}] masked [{string.Join(",", a.MaskedInputs)}] " +
                $"unmask [{string.Join(",", a.UnmaskResponses)}] dropped [{string.Join(",", a.Dropped)}] {a.FailureReason}";
        }

        public async Task SubmitBundlesAsync(params int[] parties)
        {
            foreach (var p in parties) await Pod(p).SubmitKeyBundleAsync(T.Tenant, Id, Party(p).CreateKeyBundle().ToBytes());
        }

        /// <summary>All three pods through the key and share exchange.</summary>
        public async Task ToMaskedInputAsync()
        {
            await SubmitBundlesAsync(1, 2, 3);
            var bundles = (await Pod(1).GetKeyBundlesAsync(T.Tenant, Id)).Select(b => KeyBundle.Parse(b)).ToList();
            foreach (var p in new[] { 1, 2, 3 })
                await Pod(p).SubmitShareEnvelopesAsync(T.Tenant, Id, Party(p).CreateShareEnvelopes(bundles).Select(e => e.ToBytes()));
        }

        public async Task<ulong[]> MaskedAsync(int party) =>
            Party(party).CreateMaskedInput([.. (await Pod(party).GetShareEnvelopesAsync(T.Tenant, Id)).Select(e => ShareEnvelope.Parse(e))], [1, 2, 3]);

        public void Dispose()
        {
            foreach (var p in _parties.Values) p.Dispose();
        }
    }

    private static async Task<AggRun> StartAsync(AttackTenant t, string id, int? maskedInputSeconds = null)
    {
        using var modeller = await ModellerAggregation.CreateAsync(t.Client("m1"), t.Tenant, id, "m1", Pods, AttackTenant.LongAggregation(maskedInputSeconds));
        var pins = await AggregationSession.PinsAsync(t.Client("m1"), modeller.Session, AggregationSession.EphemeralPins(), default);
        return new AggRun(t, id, modeller.Session, pins);
    }

    [Theory]
    [InlineData("another session of the tenant")]
    [InlineData("the same session id in another tenant")]
    public async Task SecAgg_AKeyBundleReplayedIntoAnotherSession_IsAValidationProblem(string target)
    {
        var t = await TenantAsync();
        using var source = await StartAsync(t, "r1");
        var bundle = source.Party(1).CreateKeyBundle().ToBytes();
        await source.Pod(1).SubmitKeyBundleAsync(t.Tenant, "r1", bundle);
        using var victim = target == "another session of the tenant" ? await StartAsync(t, "r2") : await StartAsync(await TenantAsync(), "r1");

        await RefusedAsync(victim.SeenAsync, HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => victim.Pod(1).SubmitKeyBundleAsync(victim.T.Tenant, victim.Id, bundle));

        Assert.Empty((await victim.GetAsync()).Aggregation!.KeyBundles);
    }

    [Fact]
    public async Task SecAgg_ShareEnvelopesBeforeTheKeyExchangeCloses_AreWrongPhase_AndTheSameEnvelopesAreAcceptedOnceItHas()
    {
        var t = await TenantAsync();
        using var run = await StartAsync(t, "early");
        var bundles = new[] { 1, 2, 3 }.Select(p => run.Party(p).CreateKeyBundle()).ToList();
        await run.SubmitBundlesAsync(1, 2); // party 3's bundle is still missing: the key exchange is open
        var envelopes = run.Party(1).CreateShareEnvelopes(bundles).Select(e => e.ToBytes()).ToList();

        await RefusedAsync(run.SeenAsync, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => run.Pod(1).SubmitShareEnvelopesAsync(t.Tenant, run.Id, envelopes));

        await run.SubmitBundlesAsync(3);
        Assert.Equal([1], (await run.Pod(1).SubmitShareEnvelopesAsync(t.Tenant, run.Id, envelopes)).Aggregation!.ShareSenders);
    }

    [Fact]
    public async Task SecAgg_AMaskedVectorSentTwiceWithDifferentBytes_IsAConflict_AndTheSameBytesAreIdempotent()
    {
        var t = await TenantAsync();
        using var run = await StartAsync(t, "twice");
        await run.ToMaskedInputAsync();
        var masked = await run.MaskedAsync(1);
        var accepted = await run.Pod(1).SubmitMaskedInputAsync(t.Tenant, run.Id, masked);
        ulong[] other = [(masked[0] + 1) % Q, masked[1], masked[2]];

        await RefusedAsync(run.SeenAsync, HttpStatusCode.Conflict, ProblemTypes.Conflict, () => run.Pod(1).SubmitMaskedInputAsync(t.Tenant, run.Id, other));
        Assert.Equal(accepted.Version, (await run.Pod(1).SubmitMaskedInputAsync(t.Tenant, run.Id, masked)).Version);
        Assert.Equal([1], (await run.GetAsync()).Aggregation!.MaskedInputs);
    }

    [Fact]
    public async Task SecAgg_AnUnmaskResponseFromADroppedParty_IsWrongPhase_WhetherReplayedOrGarbage()
    {
        var t = await TenantAsync();
        using var run = await StartAsync(t, "dropped", maskedInputSeconds: 60);
        await run.ToMaskedInputAsync();
        var late = await run.MaskedAsync(3);
        foreach (var p in new[] { 1, 2 }) await run.Pod(p).SubmitMaskedInputAsync(t.Tenant, run.Id, await run.MaskedAsync(p));
        service.Clock.Advance(TimeSpan.FromSeconds(61)); // party 3 misses the masked-input deadline
        var session = await run.GetAsync();
        // The deadline fixed the survivors; unmasking opens once their masked sum is stored (outside that call's turn).
        while (session.Phase == SessionPhases.MaskedInput) session = await run.T.Client("m1").WaitForSessionChangeAsync(t.Tenant, run.Id, session.Version, 5);
        Assert.Equal(SessionPhases.Unmasking, session.Phase);
        Assert.Equal([3], session.Aggregation!.Dropped);
        var request = UnmaskRequest.Parse(await run.Pod(1).GetUnmaskRequestAsync(t.Tenant, run.Id));
        var response1 = run.Party(1).CreateUnmaskResponse(request).ToBytes();

        await RefusedAsync(run.SeenAsync, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => run.Pod(3).GetUnmaskRequestAsync(t.Tenant, run.Id));
        await RefusedAsync(run.SeenAsync, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => run.Pod(3).SubmitUnmaskResponseAsync(t.Tenant, run.Id, response1));
        await RefusedAsync(run.SeenAsync, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => run.Pod(3).SubmitUnmaskResponseAsync(t.Tenant, run.Id, [1, 2, 3]));
        await RefusedAsync(run.SeenAsync, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => run.Pod(3).SubmitMaskedInputAsync(t.Tenant, run.Id, late));

        Assert.Equal([1], (await run.Pod(1).SubmitUnmaskResponseAsync(t.Tenant, run.Id, response1)).Aggregation!.UnmaskResponses);
    }

    // PSI

    private static async Task<string> PsiSeenAsync(AttackTenant t, string id)
    {
        var s = await t.Client("m1").GetSessionAsync(t.Tenant, id);
        var p = s.Psi!;
        return $"v{s.Version} {s.Phase} accepted {p.Accepted} set {p.PodSetSize} query {p.QueryStored} reply {p.ReplyStored} double {p.DoubleBlindedStored} {p.FailureReason}";
    }

    private static Task<SessionResponse> PutAsync(SmpcClient client, AttackTenant t, string id, string set, byte[] body) =>
        client.UploadPsiSetAsync(t.Tenant, id, set, stream => stream.WriteAsync(body).AsTask(), body.Length);

    /// <summary><paramref name="count"/> valid, distinct ristretto255 points.</summary>
    public static byte[] Points(int count)
    {
        var points = new byte[count * Ristretto255.Size];
        for (var i = 0; i < count; i++)
            RistrettoOprf.HashToGroup(Encoding.UTF8.GetBytes($"attack {i} {Guid.NewGuid()}"), points.AsSpan(i * Ristretto255.Size, Ristretto255.Size));
        return points;
    }

    private async Task<AttackTenant> PsiAsync(string id, bool accept)
    {
        var t = await TenantAsync();
        await t.Client("m1").CreateSessionAsync(t.Tenant, new CreateSessionRequest(id, "m1", SessionKinds.Psi, ["p1"], Psi: AttackTenant.LongPsi(2)));
        if (accept) await t.Client("p1").AcceptPsiAsync(t.Tenant, id, new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1));
        return t;
    }

    [Theory]
    [InlineData(PsiPayloads.Query, "m1")]
    [InlineData(PsiPayloads.PodSet, "p1")]
    [InlineData(PsiPayloads.Reply, "p1")]
    public async Task Psi_ASetBeforeThePodAccepts_IsWrongPhase(string set, string sender)
    {
        var t = await PsiAsync("early", accept: false);

        await RefusedAsync(() => PsiSeenAsync(t, "early"), HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => PutAsync(t.Client(sender), t, "early", set, Points(2)));
    }

    [Fact]
    public async Task Psi_AReplySentTwiceWithDifferentBytes_IsAConflict_ThenWrongPhaseOnceAnswered()
    {
        var t = await PsiAsync("twice", accept: true);
        var pod = t.Client("p1");
        await PutAsync(t.Client("m1"), t, "twice", PsiPayloads.Query, Points(2));
        var reply = Points(2);
        var stored = await PutAsync(pod, t, "twice", PsiPayloads.Reply, reply);
        Assert.Equal(SessionPhases.Exchange, stored.Phase); // the pod's set is not in yet

        await RefusedAsync(() => PsiSeenAsync(t, "twice"), HttpStatusCode.Conflict, ProblemTypes.Conflict, () => PutAsync(pod, t, "twice", PsiPayloads.Reply, Points(2)));
        Assert.Equal(stored.Version, (await PutAsync(pod, t, "twice", PsiPayloads.Reply, reply)).Version);

        Assert.Equal(SessionPhases.Answered, (await PutAsync(pod, t, "twice", PsiPayloads.PodSet, Points(3))).Phase);
        // Raw requests: the client itself recognises a wrong-phase answer after its own stored set as a lost answer (done).
        foreach (var (set, bytes) in new[] { (PsiPayloads.Reply, Points(2)), (PsiPayloads.PodSet, Points(3)) })
        {
            var before = await PsiSeenAsync(t, "twice");
            var answer = await AttackHttp.SendAsync(service.Http, HttpMethod.Put, $"v1/tenants/{t.Tenant}/sessions/twice/psi/{set}", t.Key("p1"), AttackHttp.Bytes(bytes));
            Expect.Problem(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, answer, $"{set} after the answer");
            Assert.Equal(before, await PsiSeenAsync(t, "twice"));
        }
    }

    [Fact]
    public async Task Psi_ThePodsSetSentTwiceWithDifferentBytes_IsAConflict()
    {
        var t = await PsiAsync("set-twice", accept: true);
        var set = Points(3);
        await PutAsync(t.Client("p1"), t, "set-twice", PsiPayloads.PodSet, set);

        await RefusedAsync(() => PsiSeenAsync(t, "set-twice"), HttpStatusCode.Conflict, ProblemTypes.Conflict, () => PutAsync(t.Client("p1"), t, "set-twice", PsiPayloads.PodSet, Points(3)));
        await RefusedAsync(() => PsiSeenAsync(t, "set-twice"), HttpStatusCode.Conflict, ProblemTypes.Conflict, () => PutAsync(t.Client("p1"), t, "set-twice", PsiPayloads.PodSet, set[..32]));
    }

    // Federated (what FederatedRejectionTests does not cover)

    private static async Task<string> FedSeenAsync(AttackTenant t, string id)
    {
        var s = await t.Client("m1").GetSessionAsync(t.Tenant, id);
        var f = s.Federated!;
        return $"v{s.Version} {s.Phase} members [{string.Join(",", f.MemberKeys.Select(k => $"{k.Key}={k.Value.PublicKey}"))}] " +
            $"sealed [{string.Join(",", f.SealedKeys.Select(k => $"{k.Key}={k.Value}"))}] rounds [{string.Join(",", f.Rounds.Select(r => r.Round))}] " +
            $"releases [{string.Join(",", f.Broadcasts)}] metrics [{string.Join(",", f.Metrics.Select(m => $"{m.Round}:{string.Join(";", m.Values)}"))}] {f.FailureReason}";
    }

    private static byte[] Box(byte fill) => Enumerable.Repeat(fill, FederatedChannel.SignedContentKeySize).ToArray();

    /// <summary>A federated query with every member key in and, with <paramref name="sealedKeys"/>, the content key sealed.</summary>
    private async Task<AttackTenant> FederatedAsync(string id, bool sealedKeys)
    {
        var t = await TenantAsync();
        await t.Client("m1").CreateSessionAsync(t.Tenant, new CreateSessionRequest(id, "m1", SessionKinds.Query, Pods, Query: AttackTenant.LongQuery()));
        foreach (var pod in Pods) await t.Client(pod).PutMemberKeyAsync(t.Tenant, id, pod, AttackWorld.MemberKey(t, id, pod));
        if (sealedKeys) await t.Client("m1").PutSealedKeysAsync(t.Tenant, id, Pods.ToDictionary(p => p, _ => Box(1)));
        return t;
    }

    [Fact]
    public async Task Federated_AMemberKeySignedForTheSameSessionIdInAnotherTenant_IsAValidationProblem()
    {
        var t = await TenantAsync();
        await t.Client("m1").CreateSessionAsync(t.Tenant, new CreateSessionRequest("q", "m1", SessionKinds.Query, Pods, Query: AttackTenant.LongQuery()));
        // The pod's own identity signed it, for session "q" and pod "p1", but in another tenant: a replay across tenants.
        var replayed = AttackWorld.MemberKey(t, "q", "p1", signedTenant: "t-elsewhere");

        await RefusedAsync(() => FedSeenAsync(t, "q"), HttpStatusCode.BadRequest, ProblemTypes.Validation, () => t.Client("p1").PutMemberKeyAsync(t.Tenant, "q", "p1", replayed));
    }

    [Fact]
    public async Task Federated_SealedKeysSentAgainWithOtherBoxes_AreAConflict()
    {
        var t = await FederatedAsync("q", sealedKeys: true);

        await RefusedAsync(() => FedSeenAsync(t, "q"), HttpStatusCode.Conflict, ProblemTypes.Conflict,
            () => t.Client("m1").PutSealedKeysAsync(t.Tenant, "q", Pods.ToDictionary(p => p, _ => Box(2))));
        await RefusedAsync(() => FedSeenAsync(t, "q"), HttpStatusCode.Conflict, ProblemTypes.Conflict,
            () => t.Client("m1").PutSealedKeysAsync(t.Tenant, "q", new Dictionary<string, byte[]> { ["p1"] = Box(1), ["p2"] = Box(1) }));
    }

    [Fact]
    public async Task Federated_AReleaseSentTwiceWithDifferentBytes_IsAConflict_AndTheSameBytesAreIdempotent()
    {
        var t = await FederatedAsync("q", sealedKeys: true);
        var release = Enumerable.Repeat((byte)7, 64).ToArray();
        var stored = await t.Client("m1").UploadReleaseAsync(t.Tenant, "q", "counts", release);

        await RefusedAsync(() => FedSeenAsync(t, "q"), HttpStatusCode.Conflict, ProblemTypes.Conflict,
            () => t.Client("m1").UploadReleaseAsync(t.Tenant, "q", "counts", Enumerable.Repeat((byte)8, 64).ToArray()));
        Assert.Equal(stored.Version, (await t.Client("m1").UploadReleaseAsync(t.Tenant, "q", "counts", release)).Version);
        Assert.Equal(release, await t.Client("p2").DownloadReleaseAsync(t.Tenant, "q", "counts"));
    }

    [Fact]
    public async Task Federated_MetricsOfARoundSentAgainWithOtherValues_AreAConflict()
    {
        var t = await FederatedAsync("q", sealedKeys: true);
        await t.Client("m1").CreateSessionAsync(t.Tenant, new CreateSessionRequest(
            "q-counts", "m1", SessionKinds.SecureAggregation, Pods, AttackTenant.LongAggregation() with { Input = "counts" }, Parent: "q"));
        await t.Client("m1").ReportRoundMetricsAsync(t.Tenant, "q", "counts", new Dictionary<string, double> { ["loss"] = 0.5 });

        await RefusedAsync(() => FedSeenAsync(t, "q"), HttpStatusCode.Conflict, ProblemTypes.Conflict,
            () => t.Client("m1").ReportRoundMetricsAsync(t.Tenant, "q", "counts", new Dictionary<string, double> { ["loss"] = 0.25 }));
    }

    [Fact]
    public async Task Federated_AfterTheModellerFinishes_AnotherEndingAndLateMessagesAreWrongPhase()
    {
        var t = await FederatedAsync("q", sealedKeys: true);
        var finished = await t.Client("m1").FinishFederatedAsync(t.Tenant, "q");
        Assert.Equal(SessionPhases.Completed, finished.Phase);

        await RefusedAsync(() => FedSeenAsync(t, "q"), HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Client("m1").FinishFederatedAsync(t.Tenant, "q", "changed my mind"));
        await RefusedAsync(() => FedSeenAsync(t, "q"), HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Client("p1").DeclineFederatedAsync(t.Tenant, "q", "too late"));
        await RefusedAsync(() => FedSeenAsync(t, "q"), HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Client("m1").UploadReleaseAsync(t.Tenant, "q", "late", new byte[64]));
        Assert.Equal(finished.Version, (await t.Client("m1").FinishFederatedAsync(t.Tenant, "q")).Version); // the same ending again is a retry
    }
}
