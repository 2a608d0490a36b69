using System.Globalization;
using Smpc.Agent.Psi;
using Smpc.Client;
using Smpc.Client.Psi;
using Smpc.Contracts;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Gateway.Tests.Psi;

/// <summary>
/// Whole kkrt-v1 sessions over real HTTP (the embedded silo and gateway, the pod agent's driver, the modeller's run): known
/// intersections of every shape in both modes, the pod's policy (listed, capacity m(n), minimum count) and each party
/// refusing a bad message from the other.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class KkrtEndToEndTests(EmbeddedService service)
{
    private static readonly PsiPolicy Serves = new() { Protocols = [PsiProtocolNames.Ecdh, PsiProtocolNames.RsaBlind, PsiProtocolNames.Kkrt] };

    private static PsiRequest Spec(string mode = PsiModeNames.Intersection) => PsiScenario.Spec(PsiProtocolNames.Kkrt, mode);

    /// <summary>Person <paramref name="i"/> as the modeller writes it (ref "r{i}").</summary>
    private static string?[] Mine(int i) =>
        [$"r{i}", $"Person {i}", $"p{i}@example.com", "+44 20 7946 " + (i % 10_000).ToString("0000", CultureInfo.InvariantCulture)];

    /// <summary>Person <paramref name="i"/> as the pod writes it: other case, spacing and a national phone number.</summary>
    private static string?[] Theirs(int i) =>
        [$"c{i}", $"  PERSON   {i}", $"P{i}@EXAMPLE.COM", "020 7946 " + (i % 10_000).ToString("0000", CultureInfo.InvariantCulture), "Town"];

    [Fact]
    public async Task Intersection_FindsTheRecordsDespiteSpelling_AndWritesEveryRowOfARepeatedRecord()
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var (outcome, failure, pod) = await scenario.RunAsync(t, Spec(), Serves);

        Assert.Null(failure);
        Assert.Equal(4, outcome!.Count); // distinct records, the unit of the declared size
        var written = await scenario.ReadOutputAsync();
        Assert.Equal(PsiScenario.ExpectedHits, written.Select(r => r[0])); // hit-4a and hit-4b: one record, both rows
        Assert.Equal(PsiScenario.ModellerRows[1], written[1]);
        var psi = outcome.Session.Psi!;
        Assert.Equal(SessionPhases.Completed, outcome.Session.Phase);
        Assert.Equal(PsiProtocolNames.Kkrt, psi.Protocol);
        Assert.Equal(KkrtPsiVersion.Current, psi.Version);
        Assert.Equal(7, psi.ModellerSetSize); // eight rows, one repeated: seven distinct records declared
        Assert.Equal(6, psi.PodSetSize); // seven rows, one repeated
        Assert.Equal(4, psi.ReportedCount);
        Assert.False(psi.CountedByPod);
        Assert.Equal(SessionPhases.Answered, pod.Phase);
    }

    [Fact]
    public async Task Cardinality_GivesTheCountOfDistinctMatchingRecords_CountedByTheModeller_AndNoRows()
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var (outcome, failure, _) = await scenario.RunAsync(t, Spec(PsiModeNames.Cardinality), Serves);

        Assert.Null(failure);
        Assert.Equal(4, outcome!.Count); // hit-4a and hit-4b are one record
        Assert.Null(outcome.MatchedRows);
        Assert.False(File.Exists(scenario.OutputCsv));
        Assert.False(outcome.Session.Psi!.CountedByPod);
        Assert.Null(outcome.Session.Psi.SealedCount);
        Assert.Equal(4, outcome.Session.Psi.ReportedCount);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("all")]
    [InlineData("one")]
    [InlineData("empty-modeller")]
    [InlineData("empty-pod")]
    [InlineData("both-empty")]
    public async Task EdgeSets_EmptyFullOneAndEmptySides_InBothModes(string shape)
    {
        using var scenario = new PsiScenario();
        var misses = PsiScenario.ModellerRows.Where(r => r[0]!.StartsWith("miss", StringComparison.Ordinal)).ToArray();
        var hits = PsiScenario.ModellerRows.Where(r => r[0]!.StartsWith("hit", StringComparison.Ordinal)).ToArray();
        var (mine, theirs, rows, records) = shape switch
        {
            "none" => (misses, PsiScenario.PodRows, 0, 0),
            "all" => (hits, PsiScenario.PodRows, hits.Length, hits.Length - 1), // hit-4a = hit-4b
            "one" => ([PsiScenario.ModellerRows[2]], [PsiScenario.PodRows[2]], 1, 1),
            "empty-modeller" => ([], PsiScenario.PodRows, 0, 0),
            "empty-pod" => (PsiScenario.ModellerRows, [], 0, 0),
            _ => (Array.Empty<string?[]>(), Array.Empty<string?[]>(), 0, 0),
        };
        scenario.Write(mine, theirs);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        foreach (var mode in new[] { PsiModeNames.Intersection, PsiModeNames.Cardinality })
        {
            var (outcome, failure, _) = await scenario.RunAsync(t, Spec(mode), Serves, "kkrt-" + mode);
            Assert.Null(failure);
            Assert.Equal(records, outcome!.Count);
            Assert.Equal(SessionPhases.Completed, outcome.Session.Phase);
            Assert.Equal(theirs.Select(r => r[1]).Distinct().LongCount(), outcome.Session.Psi!.PodSetSize); // every pod row here is one record per name
            if (mode == PsiModeNames.Intersection) Assert.Equal(rows, (await scenario.ReadOutputAsync()).Count);
        }
    }

    [Theory]
    [InlineData("1000x777")] // sizes that are not powers of two: modeller 0..999, pod 400..1176, 600 in common
    [InlineData("3x3000")] // 1 : 1000: of the modeller's 2, 2999 and 7000 only 2999 is in the pod's 2998..5997
    [InlineData("12000x500")] // m = 18,256 bins: the query is written and uploaded in two chunks (16,384 rows, then the rest)
    public async Task KnownIntersections_OfSizesNotPowersOfTwo_AndOfUnequalSizes(string shape)
    {
        using var scenario = new PsiScenario();
        var (mine, theirs) = shape switch
        {
            "1000x777" => (Enumerable.Range(0, 1000).ToArray(), Enumerable.Range(400, 777).ToArray()),
            "3x3000" => (new[] { 2, 2999, 7000 }, Enumerable.Range(2998, 3000).ToArray()),
            _ => (Enumerable.Range(0, 12_000).ToArray(), Enumerable.Range(11_800, 500).ToArray()),
        };
        scenario.Write(mine.Select(Mine), theirs.Select(Theirs));
        var expected = mine.Intersect(theirs).Order().Select(i => $"r{i}").ToList();
        var t = await Scenario.TenantAsync(service, ["p1"]);

        var (outcome, failure, _) = await scenario.RunAsync(t, Spec(), Serves);

        Assert.Null(failure);
        Assert.Equal(expected.Count, outcome!.Count);
        Assert.Equal(expected, (await scenario.ReadOutputAsync()).Select(r => r[0]));
        Assert.Equal(theirs.Length, outcome.Session.Psi!.PodSetSize);
        Assert.Equal(mine.Length, outcome.Session.Psi.ModellerSetSize);
    }

    // The pod's policy

    private async Task<PsiFailedException> DeclinedAsync(PsiPolicy policy, string reason, string mode = PsiModeNames.Intersection)
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var (outcome, failure, pod) = await scenario.RunAsync(t, Spec(mode), policy);
        Assert.Null(outcome);
        Assert.NotNull(failure);
        Assert.Equal(SessionPhases.Failed, failure.Session.Phase);
        Assert.StartsWith("The pod declined: ", failure.Session.Psi!.FailureReason, StringComparison.Ordinal);
        Assert.Contains(reason, failure.Session.Psi.FailureReason, StringComparison.Ordinal);
        Assert.False(failure.Session.Psi.Accepted);
        Assert.Equal(SessionPhases.Failed, pod.Phase);
        Assert.False(File.Exists(scenario.OutputCsv));
        return failure;
    }

    [Fact]
    public async Task Policy_KkrtIsNotServedUnlessListed() =>
        await DeclinedAsync(new PsiPolicy(), "protocol kkrt is not allowed (allowed: ecdh, rsa-blind)");

    [Fact]
    public async Task Policy_TheSessionLimit_CountsTheBins()
    {
        // Seven distinct records give m = ⌈10.5⌉ + 256 = 267 bins: a pod allowing 266 (far above 7) declines.
        Assert.Equal(267, KkrtParameters.Bins(7));
        await DeclinedAsync(Serves with { MaxModellerSetSize = 266 }, "gives 267 kkrt bins (records it could test), over the pod's maximum of 266 per session");
    }

    [Fact]
    public async Task Policy_TheDailyLimit_CountsTheBins()
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var policy = Serves with { MaxModellerRecordsPerDay = 2 * 267 - 1 };

        var first = await scenario.RunAsync(t, Spec(), policy, "daily-1");
        var second = await scenario.RunAsync(t, Spec(), policy, "daily-2");

        Assert.Null(first.Failure);
        Assert.Equal(4, first.Outcome!.Count);
        Assert.NotNull(second.Failure);
        Assert.Contains($"daily limit of {2 * 267 - 1} modeller records", second.Failure.Session.Psi!.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Policy_AMinimumCount_DeclinesKkrtCardinality() =>
        await DeclinedAsync(Serves with { MinCount = 1 }, "only ecdh cardinality can do", PsiModeNames.Cardinality);

    // Each party refuses a bad message from the other

    [Fact]
    public async Task APodSetupOfIdentityElements_IsRefusedByTheModeller_WhichCancelsTheSession()
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var pod = t.Pods["p1"];
        var modeller = new PsiModellerRun(t.Modeller, t.Tenant, "m1");
        var run = modeller.RunAsync("bad-setup", "p1", Spec(), Smpc.Agent.DataSources.RecordSources.Opener(
            new Smpc.Agent.DataSources.RecordSourceConfig { Kind = "csv", Path = "modeller.csv" }, scenario.Folder), scenario.OutputCsv);

        // A pod that accepts and publishes a setup of the right length, every element the identity (all zero bytes).
        await UntilListedAsync(pod, t.Tenant, "bad-setup");
        await pod.AcceptPsiAsync(t.Tenant, "bad-setup", new PsiAcceptRequest(Version: KkrtPsiVersion.Current));
        await pod.UploadPsiSetAsync(t.Tenant, "bad-setup", PsiPayloads.PodSet, s => s.WriteAsync(new byte[KkrtParameters.SetupBytes]).AsTask(), KkrtParameters.SetupBytes);

        var failure = await Assert.ThrowsAsync<PsiFailedException>(() => run);
        Assert.Contains("the modeller refused the pod's kkrt setup (InvalidElement)", failure.Message, StringComparison.Ordinal);
        var session = await t.Modeller.GetSessionAsync(t.Tenant, "bad-setup");
        Assert.Equal(SessionPhases.Cancelled, session.Phase);
        Assert.False(session.Psi!.QueryStored); // nothing was sent after the refusal
        Assert.False(File.Exists(scenario.OutputCsv));
    }

    [Fact]
    public async Task AQueryOfIdentityElements_IsRefusedByThePod_WhichDeclinesNamingTheFault()
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var spec = Spec() with { ModellerSetSize = 3 };
        var serving = PsiScenario.ServeAsync(scenario.Pod(t.Pods["p1"], t.Tenant, Serves), t.Pods["p1"], t.Tenant, "bad-query");
        var session = await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("bad-query", "m1", SessionKinds.Psi, ["p1"], Psi: spec));
        session = await UntilAsync(t.Modeller, session, s => s.Psi!.PodSetStored);

        // A query of exactly the right length whose 512 B_j are all the identity.
        var length = KkrtParameters.QueryBytes(3);
        await t.Modeller.UploadPsiSetAsync(t.Tenant, "bad-query", PsiPayloads.Query, s => s.WriteAsync(new byte[length]).AsTask(), length);

        var pod = await serving;
        Assert.Equal(SessionPhases.Failed, pod.Phase);
        session = await t.Modeller.GetSessionAsync(t.Tenant, "bad-query");
        Assert.Equal(SessionPhases.Failed, session.Phase);
        Assert.Contains("the pod refused the modeller's query (InvalidElement)", session.Psi!.FailureReason, StringComparison.Ordinal);
        Assert.False(session.Psi.ReplyStored);
    }

    private static async Task UntilListedAsync(SmpcClient pod, string tenant, string sessionId)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            var sessions = await pod.ListPodSessionsAsync(tenant, "p1");
            if (sessions.Contains(sessionId)) return;
            Assert.True(DateTime.UtcNow < deadline, $"session {sessionId} was never listed for the pod");
            await pod.WaitForPodSessionsAsync(tenant, "p1", sessions.LastOrDefault() ?? "-", 5);
        }
    }

    private static async Task<SessionResponse> UntilAsync(SmpcClient client, SessionResponse session, Func<SessionResponse, bool> done)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!done(session))
        {
            Assert.False(session.HasEnded(), $"the session ended: {session.Phase} {session.Psi?.FailureReason}");
            Assert.True(DateTime.UtcNow < deadline, "the session did not get there in time");
            session = await client.WaitForSessionChangeAsync(session.Tenant, session.Id, session.Version, 5);
        }

        return session;
    }
}
