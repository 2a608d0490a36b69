using Smpc.Contracts;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Webhooks;
using Smpc.Grains.Webhooks;

namespace Smpc.Grains.Tests.Webhooks;

/// <summary>The pure rules of webhooks: where an endpoint may point, how audit entries become events, and decline categories.</summary>
public sealed class WebhookRulesTests
{
    [Theory]
    [InlineData("https://hooks.example.com/smpc?x=1", false, true)]
    [InlineData("https://127.0.0.1:8443/hook", true, true)] // embedded: anything https
    [InlineData("http://127.0.0.1:8080/hook", false, false)] // a cluster takes https only, even to loopback
    [InlineData("http://localhost/hook", false, false)]
    [InlineData("http://127.0.0.1:8080/hook", true, true)] // embedded: loopback http
    [InlineData("http://[::1]:8080/hook", true, true)]
    [InlineData("http://localhost/hook", true, true)]
    [InlineData("http://10.0.0.5/hook", true, false)] // never http off loopback
    [InlineData("http://localhost.example.com/hook", true, false)]
    [InlineData("ftp://127.0.0.1/hook", true, false)]
    [InlineData("https://user:secret@example.com/hook", false, false)]
    [InlineData("https://example.com/hook#frag", false, false)]
    [InlineData("example.com/hook", false, false)]
    [InlineData("", false, false)]
    public void UrlRule_HttpsEverywhere_LoopbackHttpOnlyWhenAllowed(string url, bool allowLoopbackHttp, bool accepted) =>
        Assert.Equal(accepted, WebhookUrlRule.Check(url, allowLoopbackHttp) is null);

    [Theory]
    [InlineData("https://127.0.0.1:8443/hook")]
    [InlineData("https://127.8.9.10/hook")]
    [InlineData("https://localhost/hook")]
    [InlineData("https://LOCALHOST./hook")]
    [InlineData("https://api.localhost/hook")]
    [InlineData("https://169.254.169.254/latest/meta-data")] // cloud metadata
    [InlineData("https://10.1.2.3/hook")]
    [InlineData("https://172.16.0.1/hook")]
    [InlineData("https://172.31.255.255/hook")]
    [InlineData("https://192.168.1.1/hook")]
    [InlineData("https://100.64.0.1/hook")] // CGNAT
    [InlineData("https://0.0.0.0/hook")]
    [InlineData("https://224.0.0.1/hook")]
    [InlineData("https://255.255.255.255/hook")]
    [InlineData("https://2130706433/hook")] // 127.0.0.1 as one number
    [InlineData("https://0x7f000001/hook")]
    [InlineData("https://[::1]/hook")]
    [InlineData("https://[::]/hook")]
    [InlineData("https://[fe80::1]/hook")]
    [InlineData("https://[fd00::1]/hook")]
    [InlineData("https://[ff02::1]/hook")]
    [InlineData("https://[::ffff:10.0.0.1]/hook")] // IPv4-mapped
    [InlineData("https://[::ffff:169.254.169.254]/hook")]
    public void UrlRule_InACluster_RefusesInternalHosts_UnlessTheOperatorAllowsThem(string url)
    {
        Assert.NotNull(WebhookUrlRule.Check(url, allowLoopbackHttp: false));
        Assert.Null(WebhookUrlRule.Check(url, allowLoopbackHttp: false, allowPrivateAddresses: true));
    }

    [Theory]
    [InlineData("https://hooks.example.com/hook")]
    [InlineData("https://8.8.8.8/hook")]
    [InlineData("https://172.32.0.1/hook")] // just outside 172.16/12
    [InlineData("https://100.128.0.1/hook")] // just outside 100.64/10
    [InlineData("https://192.169.0.1/hook")]
    [InlineData("https://[2001:db8::1]/hook")]
    public void UrlRule_InACluster_TakesPublicHosts(string url) => Assert.Null(WebhookUrlRule.Check(url, allowLoopbackHttp: false));

    /// <summary>A host name is checked when the silo connects: one that resolves inside (here localhost) is never connected to.</summary>
    [Fact]
    public async Task Cluster_ConnectTimeCheck_RefusesAHostNameThatResolvesInside_WithACoarseError()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        // The https URL passes the registration rule by name (a name, not localhost) only if it resolves later; the
        // handler is what stands between a name and an internal address. localhost stands in for any such name.
        using var cluster = new HttpClient(WebhookHostingExtensions.CreateHandler(new WebhookOptions()));
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => cluster.GetAsync($"http://localhost:{port}/hook"));
        Assert.Equal(WebhookSender.RefusedAddress, WebhookSender.ErrorClass(refused));
        Assert.False(listener.Pending(), "nothing connected");
        var literal = await Assert.ThrowsAsync<HttpRequestException>(() => cluster.GetAsync($"http://[::ffff:127.0.0.1]:{port}/hook"));
        Assert.Equal(WebhookSender.RefusedAddress, WebhookSender.ErrorClass(literal));

        // Allowed by the operator: it connects (the listener sees the connection).
        using var allowed = new HttpClient(WebhookHostingExtensions.CreateHandler(new WebhookOptions { AllowPrivateAddresses = true }));
        var sent = allowed.GetAsync($"http://localhost:{port}/hook");
        using var accepted = await listener.AcceptTcpClientAsync();
        allowed.CancelPendingRequests(); // the connection was what this test wanted; no answer is coming
        await Assert.ThrowsAnyAsync<Exception>(() => sent);
    }

    [Fact]
    public async Task Embedded_ConnectionRefused_IsLoggedAsACoarseClass_WithoutAddressOrPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now
        using var embedded = new HttpClient(WebhookHostingExtensions.CreateHandler(new WebhookOptions { AllowLoopbackHttp = true }));
        var failure = await Assert.ThrowsAsync<HttpRequestException>(() => embedded.GetAsync($"http://127.0.0.1:{port}/hook"));
        Assert.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), failure.Message); // what must not reach the tenant
        Assert.Equal(WebhookSender.ConnectionRefused, WebhookSender.ErrorClass(failure));
        Assert.Equal(WebhookSender.Timeout, WebhookSender.ErrorClass(new TaskCanceledException()));
    }

    [Theory]
    [InlineData("input-out-of-bounds", "input-out-of-bounds")] // secure aggregation sends the category itself
    [InlineData("unverified-modeller: no verified identity key of modeller m1", "unverified-modeller")]
    [InlineData("the modeller's signature of the session is not valid for this pod (bad signature)", "unverified-modeller")]
    [InlineData("the pod agent failed: IOException", "internal")]
    [InlineData("matching on email is not allowed here", "policy")]
    [InlineData("", "other")]
    public void DeclineCategory_IsShortAndStable(string reason, string category) => Assert.Equal(category, WebhookEvents.DeclineCategory(reason));

    private static AuditEntry Entry(string type, string? detail, AuditActor? actor = null, string? keyId = null) =>
        new(7, DateTimeOffset.UnixEpoch, type, actor ?? AuditActor.Service, "s1", ["p1", "p2"], "m1", keyId, "trace", detail);

    [Fact]
    public void AuditEntries_BecomeEvents_WithOnlyTheirIdsAndNames()
    {
        var changed = WebhookEvents.From("t", Entry(AuditEventTypes.SessionPhaseChanged, "from key-exchange to share-exchange"))!;
        Assert.Equal((WebhookEventTypes.SessionPhaseChanged, "key-exchange", "share-exchange", 7L, "s1"),
            (changed.Type, changed.Data.PreviousPhase, changed.Data.Phase, changed.Data.AuditSequence, changed.Data.Session));

        var declined = WebhookEvents.From("t", Entry(AuditEventTypes.PolicyDeclined, "shape-mismatch", new AuditActor("Pod", "p2", "k")))!;
        Assert.Equal((WebhookEventTypes.SessionPodDeclined, "shape-mismatch"), (declined.Type, declined.Data.Category));
        Assert.Equal(["p2"], declined.Data.Pods);

        var created = WebhookEvents.From("t", Entry(AuditEventTypes.SessionCreated, "psi session"))!;
        Assert.Equal("psi", created.Data.Kind);

        var quota = WebhookEvents.From("t", Entry(AuditEventTypes.QuotaReached, "payload-bytes-per-day: limit 1000"))!;
        Assert.Equal((WebhookEventTypes.QuotaReached, "payload-bytes-per-day"), (quota.Type, quota.Data.Category));

        var revoked = WebhookEvents.From("t", Entry(AuditEventTypes.CredentialRevoked, "Pod key revoked", keyId: "key-1"))!;
        Assert.Equal((WebhookEventTypes.KeyRevoked, "key-1"), (revoked.Type, revoked.Data.KeyId));

        Assert.Null(WebhookEvents.From("t", Entry(AuditEventTypes.CredentialIssued, "issued")));
        Assert.Null(WebhookEvents.From("t", Entry(AuditEventTypes.PsiCountReported, null)));

        var body = WebhookEvents.Serialize(changed);
        Assert.Contains("\"type\":\"session.phase-changed\"", body);
        Assert.DoesNotContain("null", body); // members that do not apply are left out
    }

    [Fact]
    public void MessageId_IsStablePerTenantEndpointAndEvent()
    {
        var id = WebhookDispatcherGrain.MessageId("t", "wh_1", 42);
        Assert.Matches("^msg_[0-9a-f]{32}$", id);
        Assert.Equal(id, WebhookDispatcherGrain.MessageId("t", "wh_1", 42));
        Assert.NotEqual(id, WebhookDispatcherGrain.MessageId("t", "wh_1", 43));
        Assert.NotEqual(id, WebhookDispatcherGrain.MessageId("u", "wh_1", 42));
        Assert.NotEqual(id, WebhookDispatcherGrain.MessageId("t", "wh_2", 42));
    }
}
