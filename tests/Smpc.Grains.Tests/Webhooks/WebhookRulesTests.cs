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
    [InlineData("https://127.0.0.1:8443/hook", false, true)]
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
