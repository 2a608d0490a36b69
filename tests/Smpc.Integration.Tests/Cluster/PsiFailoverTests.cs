using Smpc.Agent.DataSources;
using Smpc.Agent.Psi;
using Smpc.Client;
using Smpc.Client.Psi;
using Smpc.Contracts;
using Xunit.Abstractions;

namespace Smpc.Integration.Tests.Cluster;

/// <summary>
/// kill -9 of the silo hosting a PSI session in each phase (awaiting the pod, exchange, answered): the modeller's steps are
/// held at a gate while the host dies, so every kill lands between two steps of the phase. The intersection is exact.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class PsiFailoverTests(ClusterFixture fixture, ITestOutputHelper output) : IDisposable
{
    private const int ModellerRows = 3000;
    private const int PodRows = 4000;
    private const int Shared = 1000;
    private readonly string _work = Path.Combine(Path.GetTempPath(), "smpc-psi-failover-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task KillingTheSessionHost_InEveryPhase_TheIntersectionIsExact()
    {
        Directory.CreateDirectory(_work);
        // Modeller rows m0..m2999; the pod holds rows 2000..5999 of the same numbering: rows m2000..m2999 are shared.
        await WriteCsvAsync(Path.Combine(_work, "modeller.csv"), "ref,mail", Enumerable.Range(0, ModellerRows).Select(i => $"m{i},person{i}@example.com"));
        await WriteCsvAsync(Path.Combine(_work, "pod.csv"), "id,email", Enumerable.Range(ModellerRows - Shared, PodRows).Select(i => $"c{i},Person{i}@Example.com"));

        var failures = new List<string>();
        var t = await fixture.TenantAsync("psi", 1);
        var uploadGate = new RequestGate(r => r.Method == HttpMethod.Put && r.RequestUri!.AbsolutePath.EndsWith("/psi/query", StringComparison.Ordinal));
        var replyGate = new RequestGate(r => r.Method == HttpMethod.Get && r.RequestUri!.AbsolutePath.EndsWith("/psi/reply", StringComparison.Ordinal));
        var modellerClient = fixture.Client(t.Modeller.ApiKey, failures, 0, uploadGate, replyGate);
        var podClient = fixture.Client(t.Pods["p1"].ApiKey, failures, firstGateway: 1);

        var spec = new PsiRequest(PsiModeNames.Intersection, [new("mail", "email")], [new("email", "email")], "customers", 0, PsiProtocolNames.Ecdh, TimeoutSeconds: 600);
        var modeller = new PsiModellerRun(modellerClient, t.Tenant, "m1");
        var outcomeTask = modeller.RunAsync("psi1", "p1", spec, RecordSources.Opener(new RecordSourceConfig { Kind = "csv", Path = "modeller.csv" }, _work), Path.Combine(_work, "matches.csv"));
        var recoveries = new List<string>();

        var session = await WaitForAsync(t, s => true);
        Assert.Equal(SessionPhases.AwaitingPod, session.Phase);
        recoveries.Add(await KillAsync(t, SessionPhases.AwaitingPod));

        var pod = new PsiPodDriver(podClient, t.Tenant, "p1", new Dictionary<string, RecordSourceConfig> { ["customers"] = new() { Kind = "csv", Path = "pod.csv" } },
            new PsiPolicy(), _work, Path.Combine(_work, "pod-state"), m => output.WriteLine("pod: " + m));
        var podTask = pod.RunAsync(await podClient.GetSessionAsync(t.Tenant, "psi1"), CancellationToken.None);
        await uploadGate.Reached.WaitAsync(TimeSpan.FromMinutes(1));
        session = await WaitForAsync(t, s => s.Psi!.Accepted);
        Assert.Equal(SessionPhases.Exchange, session.Phase);
        recoveries.Add(await KillAsync(t, SessionPhases.Exchange));
        Assert.True((await t.Admin.GetSessionAsync(t.Tenant, "psi1")).Psi!.Accepted, "the pod's acceptance survived");

        uploadGate.Open();
        await replyGate.Reached.WaitAsync(TimeSpan.FromMinutes(2));
        session = await WaitForAsync(t, s => s.Phase == SessionPhases.Answered);
        recoveries.Add(await KillAsync(t, SessionPhases.Answered));
        var answered = (await t.Admin.GetSessionAsync(t.Tenant, "psi1")).Psi!;
        Assert.True(answered.QueryStored && answered.ReplyStored, "the stored query and reply survived");
        Assert.Equal(PodRows, answered.PodSetSize);

        replyGate.Open();
        var outcome = await outcomeTask.WaitAsync(TimeSpan.FromMinutes(3));
        await podTask.WaitAsync(TimeSpan.FromMinutes(1));
        output.WriteLine(ClusterFixture.MembershipLabel);
        foreach (var line in recoveries) output.WriteLine(line);
        output.WriteLine($"retried failures seen by the parties: {string.Join(", ", failures.GroupBy(f => f).Select(g => $"{g.Key}×{g.Count()}"))}");

        Assert.Equal(Shared, outcome.Count);
        Assert.Equal(Enumerable.Range(ModellerRows - Shared, Shared).Select(i => (long)i), outcome.MatchedRows!.Order());
        var final = await t.Admin.GetSessionAsync(t.Tenant, "psi1");
        Assert.Equal(SessionPhases.Completed, final.Phase);
        Assert.Equal(Shared, final.Psi!.ReportedCount);
        Assert.All(failures, f => Assert.Contains(f, new[] { "ServiceUnavailable", "BadGateway", "GatewayTimeout", "TooManyRequests", nameof(HttpRequestException) }));
    }

    private async Task<string> KillAsync(ClusterTenant t, string phase)
    {
        var (silo, recovery) = await fixture.KillHostAndRecoverAsync("session", $"{t.Tenant}/psi1", () => t.Admin.GetSessionAsync(t.Tenant, "psi1"));
        Assert.Equal(phase, (await t.Admin.GetSessionAsync(t.Tenant, "psi1")).Phase);
        return $"{phase}: killed {silo}, session answered again after {recovery.TotalSeconds:F1} s";
    }

    /// <summary>Waits without sleeping: the pod's long poll for work until the session exists, then the session's own long poll until <paramref name="condition"/> holds.</summary>
    private static async Task<SessionResponse> WaitForAsync(ClusterTenant t, Func<SessionResponse, bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var newest = "-";
        while (!(await t.Pods["p1"].ListPodSessionsAsync(t.Tenant, "p1")).Contains("psi1"))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), "the modeller did not create the session");
            newest = (await t.Pods["p1"].WaitForPodSessionsAsync(t.Tenant, "p1", newest, 5)).LastOrDefault() ?? "-";
        }

        var session = await t.Admin.GetSessionAsync(t.Tenant, "psi1");
        while (!condition(session))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"the session did not reach the expected state; it is {session.Phase}");
            session = await t.Admin.WaitForSessionChangeAsync(t.Tenant, "psi1", session.Version, 5);
        }

        return session;
    }

    private static async Task WriteCsvAsync(string path, string header, IEnumerable<string> rows) =>
        await File.WriteAllLinesAsync(path, new[] { header }.Concat(rows));

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { }
    }
}
