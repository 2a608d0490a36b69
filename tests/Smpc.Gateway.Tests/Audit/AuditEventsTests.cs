using System.Diagnostics;
using Smpc.Agent.Psi;
using Smpc.Agent.SecureAggregation;
using Smpc.Client.Psi;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Gateway.Tests.Psi;
using Smpc.Protocols.Crypto;
using static Smpc.Gateway.Tests.Audit.AuditReading;

namespace Smpc.Gateway.Tests.Audit;

/// <summary>Every security-relevant step, done through the real gateway, leaves its entry in the tenant's audit log.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class AuditEventsTests(EmbeddedService service)
{
    private static void AssertTraceId(AuditEntryResponse entry) =>
        Assert.True(entry.TraceId is { Length: 32 } id && id.All(char.IsAsciiHexDigitLower) && id != new string('0', 32), $"{entry.Type} has trace id '{entry.TraceId}'");

    private static string SessionTraceId(SessionResponse session) => ActivityContext.Parse(session.TraceParent!, null).TraceId.ToHexString();

    [Fact]
    public async Task CreatingATenant_RegisteringMembers_AndSettingLimits_AreRecordedWithActorsAndKeyIds()
    {
        var t = await Scenario.TenantAsync(service);
        await service.Operator.SetTenantLimitsAsync(t.Tenant, new TenantLimitsRequest(500, 1000));

        var entries = await AllAsync(t.Admin, t.Tenant);

        Assert.Equal(
            [
                AuditEventTypes.TenantCreated, AuditEventTypes.CredentialIssued,
                AuditEventTypes.PodRegistered, AuditEventTypes.CredentialIssued, AuditEventTypes.PodRegistered, AuditEventTypes.CredentialIssued,
                AuditEventTypes.PodRegistered, AuditEventTypes.CredentialIssued, AuditEventTypes.ModellerRegistered, AuditEventTypes.CredentialIssued,
                AuditEventTypes.TenantLimitsChanged,
            ], entries.Select(e => e.Type));
        Assert.Equal(Enumerable.Range(1, entries.Count).Select(i => (long)i), entries.Select(e => e.Sequence));
        var adminKey = (await t.Admin.WhoAmIAsync()).KeyId;
        Assert.Equal(new AuditActorResponse("Operator", null, null), entries[0].Actor);
        Assert.Equal(adminKey, entries[1].KeyId); // the first admin key, issued by the operator
        Assert.Equal("Operator", entries[1].Actor.Role);
        foreach (var (pod, i) in new[] { "p1", "p2", "p3" }.Select((p, i) => (p, 2 + (2 * i))))
        {
            var (registered, key) = (entries[i], entries[i + 1]);
            Assert.Equal(new AuditActorResponse("TenantAdmin", null, adminKey), registered.Actor);
            Assert.Equal([pod], registered.Pods);
            Assert.Equal($"identity key {KeyFingerprint.Compute(t.Identities[pod].PublicKey)}", registered.Detail);
            Assert.Equal((await t.Pods[pod].WhoAmIAsync()).KeyId, key.KeyId);
            Assert.Equal([pod], key.Pods);
        }

        Assert.Equal("m1", entries[8].Modeller);
        Assert.Equal(t.ModellerKey.KeyId, entries[9].KeyId);
        Assert.Equal("Operator", entries[10].Actor.Role);
        Assert.Contains("requestsPerSecond=500, burst=1000", entries[10].Detail, StringComparison.Ordinal);
        Assert.All(entries, AssertTraceId);
        Assert.True(entries.Zip(entries.Skip(1)).All(p => p.First.Time <= p.Second.Time));
    }

    [Fact]
    public async Task IssuingAndRevokingKeys_IsRecorded_IncludingARevocationScheduledForLater()
    {
        var t = await Scenario.TenantAsync(service);
        var adminKey = (await t.Admin.WhoAmIAsync()).KeyId;
        IssuedKeyResponse first = null!, second = null!, admin = null!;
        CredentialResponse scheduled = null!;

        var entries = await AfterAsync(t.Admin, t.Tenant, async () =>
        {
            first = await t.Admin.IssuePodKeyAsync(t.Tenant, "p1");
            second = await t.Admin.IssuePodKeyAsync(t.Tenant, "p1");
            await t.Admin.RevokeKeyAsync(t.Tenant, first.KeyId);
            scheduled = await t.Admin.RevokeKeyAsync(t.Tenant, second.KeyId, after: TimeSpan.FromHours(1));
            await t.Admin.RevokeKeyAsync(t.Tenant, first.KeyId); // a repeated revocation changes nothing and records nothing
            await t.Admin.RevokeKeyAsync(t.Tenant, second.KeyId, after: TimeSpan.FromHours(2)); // a later time never replaces an earlier one
            admin = await t.Admin.IssueAdminKeyAsync(t.Tenant);
        });

        Assert.Equal(
            [
                (AuditEventTypes.CredentialIssued, first.KeyId), (AuditEventTypes.CredentialIssued, second.KeyId), (AuditEventTypes.CredentialRevoked, first.KeyId),
                (AuditEventTypes.CredentialRevocationScheduled, second.KeyId), (AuditEventTypes.CredentialIssued, admin.KeyId),
            ], entries.Select(e => (e.Type, e.KeyId)));
        Assert.All(entries, e => Assert.Equal(new AuditActorResponse("TenantAdmin", null, adminKey), e.Actor));
        Assert.All(entries.Take(4), e => Assert.Equal(["p1"], e.Pods));
        Assert.Empty(entries[4].Pods);
        Assert.Equal($"Pod key stops working at {scheduled.RevokedAt!.Value:O}", entries[3].Detail);
    }

    [Fact]
    public async Task ASecureAggregationRun_RecordsItsCreation_EachPodsJoin_AndItsCompletion()
    {
        string[] pods = ["p1", "p2", "p3"];
        var t = await Scenario.TenantAsync(service, pods);
        var spec = new AggregationRequest([new AggregationFieldRequest("w", 2, -100, 100)], "sum", "", "w", PhaseTimeoutSeconds: 60);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "agg", "m1", pods, spec);
        var runners = pods.Select(p => new SecureAggregationPodDriver(t.Pods[p], t.Tenant, "agg", p, t.Identities[p], _ => [1, 2])
        { PollInterval = TimeSpan.FromMilliseconds(20) }.RunAsync()).ToList();
        await modeller.WaitForResultAsync();
        await Task.WhenAll(runners);
        var final = await t.Modeller.GetSessionAsync(t.Tenant, "agg");

        var all = await AllAsync(t.Admin, t.Tenant, new AuditFilter(Session: "agg"));
        var entries = all.Where(e => e.Type != AuditEventTypes.SessionPhaseChanged).ToList(); // phase changes: see the secure-aggregation run

        Assert.Equal([AuditEventTypes.SessionCreated, AuditEventTypes.SessionJoined, AuditEventTypes.SessionJoined, AuditEventTypes.SessionJoined, AuditEventTypes.SessionCompleted],
            entries.Select(e => e.Type));
        Assert.Equal(("Modeller", "m1", t.ModellerKey.KeyId), (entries[0].Actor.Role, entries[0].Actor.Subject, entries[0].Actor.KeyId));
        Assert.Equal("secure-aggregation session", entries[0].Detail);
        Assert.Equal(SessionTraceId(final), entries[0].TraceId); // the creation's trace is the session's trace
        var joins = entries.Skip(1).Take(3).ToList();
        Assert.Equal(pods, joins.Select(e => e.Actor.Subject).Order());
        Assert.All(joins, e => Assert.Equal("Pod", e.Actor.Role));
        foreach (var join in joins) Assert.Equal((await t.Pods[join.Actor.Subject!].WhoAmIAsync()).KeyId, join.Actor.KeyId);
        Assert.Equal(("Modeller", "result from parties 1, 2, 3"), (entries[4].Actor.Role, entries[4].Detail));
        Assert.All(entries, e => Assert.Equal(("agg", "p1,p2,p3", "m1"), (e.Session, string.Join(",", e.Pods), e.Modeller)));
        Assert.All(entries, AssertTraceId);

        // Each phase change is recorded by the service, under the session's trace, after the step that caused it.
        var phases = all.Where(e => e.Type == AuditEventTypes.SessionPhaseChanged).ToList();
        Assert.Equal(["from key-exchange to share-exchange", "from share-exchange to masked-input", "from masked-input to unmasking", "from unmasking to completed"],
            phases.Select(e => e.Detail));
        Assert.All(phases, e => Assert.Equal(new AuditActorResponse("Service", null, null), e.Actor));
        Assert.All(phases, e => Assert.Equal(SessionTraceId(final), e.TraceId));
        Assert.Equal(AuditEventTypes.SessionCompleted, all[^1].Type);
        Assert.Equal(AuditEventTypes.SessionPhaseChanged, all[^2].Type);
    }

    [Fact]
    public async Task ASessionWhoseDeadlinePasses_IsRecordedAsFailedByTheService_UnderTheSessionsTrace()
    {
        var t = await Scenario.TenantWithSessionAsync(service, "late");
        service.Clock.Advance(TimeSpan.FromSeconds(301)); // the default phase timeout is 300 s and no pod acts

        var session = await t.Modeller.GetSessionAsync(t.Tenant, "late");
        var failed = Assert.Single(await AllAsync(t.Admin, t.Tenant, new AuditFilter(Type: AuditEventTypes.SessionFailed)));

        Assert.Equal(SessionPhases.Failed, session.Phase);
        Assert.Equal(new AuditActorResponse("Service", null, null), failed.Actor);
        Assert.Equal(session.Aggregation!.FailureReason, failed.Detail);
        Assert.Contains("before the deadline", failed.Detail, StringComparison.Ordinal);
        Assert.Equal(("late", "p1,p2,p3"), (failed.Session, string.Join(",", failed.Pods)));
        Assert.Equal(SessionTraceId(session), failed.TraceId);
    }

    [Fact]
    public async Task APsiDecline_IsRecordedAsAPolicyRefusal_ThenTheSessionsFailure()
    {
        var t = await Scenario.TenantAsync(service, ["p1"]);
        await t.Modeller.CreateSessionAsync(t.Tenant,
            new CreateSessionRequest("psi-no", "m1", SessionKinds.Psi, ["p1"], Psi: PsiScenario.Spec(PsiProtocolNames.Ecdh, PsiModeNames.Intersection) with { ModellerSetSize = 8 }));
        await t.Pods["p1"].DeclinePsiAsync(t.Tenant, "psi-no", "  matching on email is not allowed here ");

        var all = await AllAsync(t.Admin, t.Tenant, new AuditFilter(Session: "psi-no"));
        var entries = all.Where(e => e.Type != AuditEventTypes.SessionPhaseChanged).ToList(); // phase changes: see the secure-aggregation run

        Assert.Equal([AuditEventTypes.SessionCreated, AuditEventTypes.PolicyDeclined, AuditEventTypes.SessionFailed], entries.Select(e => e.Type));
        Assert.Equal("psi session", entries[0].Detail);
        Assert.Equal(("Pod", "p1"), (entries[1].Actor.Role, entries[1].Actor.Subject));
        Assert.Equal("matching on email is not allowed here", entries[1].Detail);
        Assert.Equal(("Pod", "The pod declined: matching on email is not allowed here"), (entries[2].Actor.Role, entries[2].Detail));
    }

    [Fact]
    public async Task APodCountedPsiRun_RecordsTheJoinAndTheReportedCount_ButNeverTheCountItself()
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var (outcome, failure, _) = await scenario.RunAsync(t, PsiScenario.Spec(PsiProtocolNames.Ecdh, PsiModeNames.Cardinality), new PsiPolicy { MinCount = 2 });
        Assert.Null(failure);
        Assert.Equal(4, outcome!.Count); // distinct records: hit-4a and hit-4b are one

        var all = await AllAsync(t.Admin, t.Tenant, new AuditFilter(Session: "psi1"));
        var entries = all.Where(e => e.Type != AuditEventTypes.SessionPhaseChanged).ToList(); // phase changes: see the secure-aggregation run

        Assert.Equal([AuditEventTypes.SessionCreated, AuditEventTypes.SessionJoined, AuditEventTypes.PsiCountReported, AuditEventTypes.SessionCompleted],
            entries.Select(e => e.Type));
        Assert.Equal(("Pod", "p1 accepted the session (ecdh, counted by the pod)"), (entries[1].Actor.Role, entries[1].Detail));
        Assert.Equal(("Pod", "p1"), (entries[2].Actor.Role, entries[2].Actor.Subject));
        Assert.Equal(("Modeller", "m1"), (entries[3].Actor.Role, entries[3].Actor.Subject));
        Assert.All(entries, e => Assert.DoesNotMatch(@"\d", (e.Detail ?? "").Replace("p1", "", StringComparison.Ordinal))); // sizes and counts stay in the session resource
    }

    [Fact]
    public async Task AFederatedDecline_IsRecordedAsAPolicyRefusal_AndAMemberKey_AsAJoin()
    {
        var t = await Scenario.TenantAsync(service);
        var query = new QueryRequest("SELECT count(*) AS n FROM visits", "visits", [], [new QueryAggregateRequest("n", "count")]);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("fq", "m1", SessionKinds.Query, ["p1", "p2", "p3"], Query: query));
        using var member = X25519KeyPair.Generate(Smpc.Protocols.Randomness.SystemRandomSource.Instance);
        await t.Pods["p1"].PutMemberKeyAsync(t.Tenant, "fq", "p1", new MemberKeyRequest(Convert.ToBase64String(member.PublicKey),
            Convert.ToBase64String(Smpc.Protocols.Federated.FederatedChannel.SignMemberKey(t.Identities["p1"], t.Tenant, "fq", "p1", member.PublicKey))));
        await t.Pods["p2"].DeclineFederatedAsync(t.Tenant, "fq", "the query touches a column I do not share");

        var all = await AllAsync(t.Admin, t.Tenant, new AuditFilter(Session: "fq"));
        var entries = all.Where(e => e.Type != AuditEventTypes.SessionPhaseChanged).ToList(); // phase changes: see the secure-aggregation run

        Assert.Equal([AuditEventTypes.SessionCreated, AuditEventTypes.SessionJoined, AuditEventTypes.PolicyDeclined, AuditEventTypes.SessionFailed], entries.Select(e => e.Type));
        Assert.Equal(("p1", "p1 published its member key"), (entries[1].Actor.Subject, entries[1].Detail));
        Assert.Equal(("p2", "the query touches a column I do not share"), (entries[2].Actor.Subject, entries[2].Detail));
        Assert.Equal("Pod p2 declined: the query touches a column I do not share", entries[3].Detail);
    }
}
