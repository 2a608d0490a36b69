using Smpc.Agent.Psi;
using Smpc.Agent.SecureAggregation;
using Smpc.Client;
using Smpc.Client.Psi;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Gateway.Tests.Psi;
using Smpc.TestSupport;

namespace Smpc.Gateway.Tests.Transfers;

/// <summary>
/// Long transfers resume (#14 §3): the same runs as the end-to-end tests, once straight to the gateway and once through a
/// proxy that cuts chosen connections mid-stream (uploads client→server, downloads server→client, and answers lost after the
/// service stored an upload). The cut run completes with exactly the uncut run's result, and every cut shows as a retry.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class CutTransferTests(EmbeddedService service)
{
    private const int Filler = 3000; // ~96 KB per PSI set: far more than a cut's byte count

    [Fact]
    public async Task EcdhPsi_WithStreamsCutBothWays_FindsTheSameIntersection()
    {
        var (uncut, uncutRows) = await RunPsiAsync(cuts: null);
        var retries = new List<TransferRetry>();
        var (cut, cutRows) = await RunPsiAsync((proxy, tenant) =>
        {
            var psi = $"/v1/tenants/{tenant}/sessions/psi1/psi/";
            proxy.Cut($"PUT {psi}pod-set ", CutDirection.ClientToServer, 40_000); // the pod's upload
            proxy.Cut($"PUT {psi}query ", CutDirection.ClientToServer, 40_000); // the modeller's upload
            proxy.Cut($"GET {psi}query ", CutDirection.ServerToClient, 40_000); // the pod's download
            proxy.Cut($"PUT {psi}reply ", CutDirection.ServerToClient, 0); // stored, then the answer is lost: the session moved on
            proxy.Cut($"GET {psi}reply ", CutDirection.ServerToClient, 40_000, times: 2); // the modeller's download, twice
            proxy.Cut($"GET {psi}pod-set ", CutDirection.ServerToClient, 40_000);
        }, retries);

        Assert.Equal(SessionPhases.Completed, uncut.Session.Phase);
        Assert.Equal(SessionPhases.Completed, cut.Session.Phase);
        Assert.Equal(PsiScenario.ExpectedHits.Length, uncut.Count);
        Assert.Equal(uncut.Count, cut.Count);
        Assert.Equal(uncut.MatchedRows, cut.MatchedRows);
        Assert.Equal(uncutRows, cutRows);
        Assert.Equal(uncut.Session.Psi!.PodSetSize, cut.Session.Psi!.PodSetSize);
        // Seven cuts; the lost answer is recognised from the session without a retry of its own only if the first retry already saw it.
        Assert.True(retries.Count >= 7, string.Join("\n", retries));
        Assert.Contains(retries, r => r.Transfer == "psi.reply.download" && r.ResumeAt > 0);
        Assert.Contains(retries, r => r.Transfer == "psi.pod-set.upload");
    }

    [Fact]
    public async Task PodCountedEcdhCardinality_WithStreamsCutBothWays_GivesTheSameCount()
    {
        var policy = new PsiPolicy { MinCount = 1 }; // the pod counts: the modeller uploads the double-blinded set
        var (uncut, _) = await RunPsiAsync(cuts: null, mode: PsiModeNames.Cardinality, policy: policy);
        var retries = new List<TransferRetry>();
        var (cut, _) = await RunPsiAsync((proxy, tenant) =>
        {
            var psi = $"/v1/tenants/{tenant}/sessions/psi1/psi/";
            proxy.Cut($"GET {psi}pod-set ", CutDirection.ServerToClient, 40_000);
            proxy.Cut($"PUT {psi}double-blinded ", CutDirection.ClientToServer, 40_000);
            proxy.Cut($"GET {psi}double-blinded ", CutDirection.ServerToClient, 40_000);
        }, retries, PsiModeNames.Cardinality, policy);

        Assert.True(cut.Session.Psi!.CountedByPod);
        Assert.Equal(PsiScenario.ExpectedHits.Length - 1, uncut.Count); // distinct records: hit-4a and hit-4b are one
        Assert.Equal(uncut.Count, cut.Count);
        Assert.Equal(uncut.Session.Psi!.ReportedCount, cut.Session.Psi.ReportedCount);
        Assert.NotNull(cut.Session.Psi.SealedCount);
        Assert.Equal(["psi.double-blinded.download", "psi.double-blinded.upload", "psi.pod-set.download"], retries.Select(r => r.Transfer).Order());
    }

    [Fact]
    public async Task SecureAggregation_WithStreamsCutBothWays_GivesTheSameResult()
    {
        var uncut = await RunAggregationAsync(cuts: null);
        var retries = new List<TransferRetry>();
        var cut = await RunAggregationAsync((proxy, tenant) =>
        {
            var secagg = $"/v1/tenants/{tenant}/sessions/agg/secagg/";
            proxy.Cut($"PUT {secagg}masked-input ", CutDirection.ClientToServer, 50_000, times: 2); // two pods' uploads
            proxy.Cut($"PUT {secagg}masked-input ", CutDirection.ServerToClient, 0); // stored, then the answer is lost
            proxy.Cut($"GET {secagg}masked-sum ", CutDirection.ServerToClient, 50_000, times: 2); // the modeller's download, twice
        }, retries);

        Assert.Equal(SessionPhases.Completed, uncut.Session.Phase);
        Assert.Equal(SessionPhases.Completed, cut.Session.Phase);
        Assert.Equal([1, 2, 3], cut.IncludedParties);
        Assert.Equal(uncut.Values["w"], cut.Values["w"]); // exactly: the same field sum decodes to the same values
        Assert.True(retries.Count >= 5, string.Join("\n", retries));
        Assert.Contains(retries, r => r.Transfer == "secagg.masked_sum.download" && r.ResumeAt > 0);
        Assert.Contains(retries, r => r.Transfer == "secagg.masked.upload");
    }

    [Fact]
    public async Task APayloadDownloadCutTwice_ResumesToExactlyTheStoredBytes()
    {
        var (t, bytes, path) = await StoreAsync();
        await using var proxy = new CuttingProxy(service.Http.BaseAddress!);
        using var http = ProxyHttp(proxy);
        proxy.Cut($"GET {path} ", CutDirection.ServerToClient, 30_000, times: 2);
        var retries = new List<TransferRetry>();
        var modeller = new SmpcClient(http, t.Modeller.ApiKey).WithTransfers(new TransferRetryPolicy { OnRetry = retries.Add });

        using var downloaded = new MemoryStream();
        Assert.Equal(bytes.Length, await modeller.DownloadPayloadAsync(t.Tenant, "s1", "blob", downloaded));

        Assert.Equal(bytes, downloaded.ToArray());
        Assert.Equal(2, proxy.Cuts.Count);
        Assert.Equal([1, 2], retries.Select(r => r.Retry));
        Assert.True(retries[0].ResumeAt > 0 && retries[1].ResumeAt > retries[0].ResumeAt);
    }

    [Fact]
    public async Task ADownloadCutEveryTime_GivesUpAfterItsRetries_WithTheLastFailure()
    {
        var (t, _, path) = await StoreAsync();
        await using var proxy = new CuttingProxy(service.Http.BaseAddress!);
        using var http = ProxyHttp(proxy);
        proxy.Cut($"GET {path} ", CutDirection.ServerToClient, 30_000, times: 100);
        var retries = new List<TransferRetry>();
        var modeller = new SmpcClient(http, t.Modeller.ApiKey).WithTransfers(new TransferRetryPolicy { MaxRetries = 2, OnRetry = retries.Add });

        await Assert.ThrowsAnyAsync<IOException>(() => modeller.DownloadPayloadAsync(t.Tenant, "s1", "blob", Stream.Null));

        Assert.Equal([1, 2], retries.Select(r => r.Retry));
        Assert.Equal(3, proxy.Cuts.Count); // the first try and two retries, then no more
    }

    private async Task<(TenantClients T, byte[] Bytes, string Path)> StoreAsync()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(200_000);
        await t.Pods["p1"].UploadPayloadAsync(t.Tenant, "s1", "blob", new MemoryStream(bytes));
        return (t, bytes, $"/v1/tenants/{t.Tenant}/sessions/s1/payloads/blob");
    }

    /// <summary>Runs an ecdh intersection; with <paramref name="cuts"/>, every party talks through a cutting proxy.</summary>
    private async Task<(PsiOutcome Outcome, List<string?[]> Rows)> RunPsiAsync(
        Action<CuttingProxy, string>? cuts, List<TransferRetry>? retries = null, string mode = PsiModeNames.Intersection, PsiPolicy? policy = null)
    {
        using var scenario = new PsiScenario();
        scenario.Write(
            PsiScenario.ModellerRows.Concat(Enumerable.Range(0, Filler).Select(i => new string?[] { $"fill-{i}", $"Modeller Filler {i}", $"mf{i}@example.com", $"+44 20 7946 {i:0000}" })),
            PsiScenario.PodRows.Concat(Enumerable.Range(0, Filler).Select(i => new string?[] { $"f{i}", $"Pod Filler {i}", $"pf{i}@example.net", $"+44 20 7946 {i:0000}", "Hull" })));
        var t = await Scenario.TenantAsync(service, ["p1"]);
        await using var proxy = new CuttingProxy(service.Http.BaseAddress!);
        using var http = ProxyHttp(proxy);
        if (cuts is not null)
        {
            cuts(proxy, t.Tenant);
            t = Through(t, http, retries!);
        }

        var (outcome, failure, _) = await scenario.RunAsync(t, PsiScenario.Spec(PsiProtocolNames.Ecdh, mode), policy);
        Assert.Null(failure);
        Assert.Equal(0, proxy.Pending); // every cut happened
        return (outcome!, mode == PsiModeNames.Intersection ? await scenario.ReadOutputAsync() : []);
    }

    /// <summary>Runs a mean over 3 pods of 20,000 values each (160 KB masked vectors); with <paramref name="cuts"/>, through a cutting proxy.</summary>
    private async Task<AggregationOutcome> RunAggregationAsync(Action<CuttingProxy, string>? cuts, List<TransferRetry>? retries = null)
    {
        const int Length = 20_000;
        string[] pods = ["p1", "p2", "p3"];
        var t = await Scenario.TenantAsync(service, pods);
        await using var proxy = new CuttingProxy(service.Http.BaseAddress!);
        using var http = ProxyHttp(proxy);
        if (cuts is not null)
        {
            cuts(proxy, t.Tenant);
            t = Through(t, http, retries!);
        }

        var spec = new AggregationRequest([new AggregationFieldRequest("w", Length, -100, 100)], "mean", "", "weights");
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "agg", "m1", pods, spec);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var runners = Enumerable.Range(1, pods.Length).Select(p =>
            new SecureAggregationPodDriver(t.Pods[$"p{p}"], t.Tenant, "agg", $"p{p}", t.Identities[$"p{p}"],
                _ => [.. Enumerable.Range(0, Length).Select(k => Math.Round(((p * 7.3) - (k * 1.9)) % 50, 4))])
            {
                PollInterval = TimeSpan.FromMilliseconds(20),
            }.RunAsync(cts.Token)).ToList();
        var outcome = await modeller.WaitForResultAsync(cts.Token);
        await Task.WhenAll(runners);
        Assert.Equal(0, proxy.Pending);
        return outcome;
    }

    /// <summary>One request per connection, so the proxy's rules see every request line.</summary>
    private static HttpClient ProxyHttp(CuttingProxy proxy)
    {
        var http = new HttpClient { BaseAddress = proxy.Address };
        http.DefaultRequestHeaders.ConnectionClose = true;
        return http;
    }

    /// <summary>The tenant's clients, talking through <paramref name="http"/>, recording every transfer retry.</summary>
    private static TenantClients Through(TenantClients t, HttpClient http, List<TransferRetry> retries)
    {
        var policy = TransferRetryPolicy.Default with
        {
            OnRetry = r =>
            {
                lock (retries) retries.Add(r);
                Console.Error.WriteLine(r);
            },
        };
        SmpcClient Via(SmpcClient c) => new SmpcClient(http, c.ApiKey).WithTransfers(policy);
        return t with { Modeller = Via(t.Modeller), Pods = t.Pods.ToDictionary(p => p.Key, p => Via(p.Value)) };
    }
}
