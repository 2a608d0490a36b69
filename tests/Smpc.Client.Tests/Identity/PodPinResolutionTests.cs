using System.Net;
using System.Net.Http.Json;
using Smpc.Client.Identity;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Xunit;

namespace Smpc.Client.Tests.Identity;

/// <summary>
/// <see cref="AggregationSession.PinsAsync"/>, the one place pods' identities are resolved for secure aggregation: the
/// registry (a fake service here) only presents a fingerprint; the party's <see cref="PinStore"/> decides.
/// </summary>
public sealed class PodPinResolutionTests
{
    private const string A = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string B = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private const string C = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    private const string Evil = "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";

    private static readonly SessionResponse Session = new("t", "s", "m", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], SessionPhases.KeyExchange, default, 1);

    private readonly Dictionary<string, string?> registry = new() { ["p1"] = A, ["p2"] = B, ["p3"] = C };
    private readonly List<string> asked = [];
    private readonly List<string> notices = [];

    private SmpcClient Client() => new(new HttpClient(new FakeRegistry(this)) { BaseAddress = new Uri("http://registry.test/") });

    [Fact]
    public async Task FirstUse_PinsEveryPodFromTheRegistry_Loudly_InPartyOrder()
    {
        var store = new PinStore(null, notice: notices.Add);
        var pins = await AggregationSession.PinsAsync(Client(), Session, store, default);

        Assert.Equal([A, B, C], [pins[1], pins[2], pins[3]]);
        Assert.Equal(3, notices.Count);
        Assert.All(notices.Zip(["p1", "p2", "p3"]), n => Assert.StartsWith($"FIRST USE: pinned pod '{n.Second}' of tenant 't'", n.First));
        Assert.All(store.List(), p => Assert.Equal(PinSources.FirstUse, p.Source));
    }

    [Fact]
    public async Task ARegistryThatChangesAPodAfterFirstUse_IsAHardStop()
    {
        var store = new PinStore(null, notice: notices.Add);
        await AggregationSession.PinsAsync(Client(), Session, store, default);
        registry["p2"] = Evil;

        var error = await Assert.ThrowsAsync<PinMismatchException>(() => AggregationSession.PinsAsync(Client(), Session, store, default));
        Assert.Equal(("t", PinKinds.Pod, "p2", B, Evil), (error.Tenant, error.Kind, error.Id, error.Pinned, error.Presented));
        Assert.Equal(B, store.Find("t", PinKinds.Pod, "p2")!.Fingerprint); // the pin is not moved
    }

    [Fact]
    public async Task AConfiguredPin_WinsAndIsStillCheckedAgainstWhatTheRegistryPresents()
    {
        var store = new PinStore(null, [new Pin("t", PinKinds.Pod, "p2", Evil, PinSources.Configured, default)], notice: notices.Add);
        var error = await Assert.ThrowsAsync<PinMismatchException>(() => AggregationSession.PinsAsync(Client(), Session, store, default));
        Assert.Equal(("p2", Evil, B), (error.Id, error.Pinned, error.Presented));
        Assert.Single(notices); // p1 was pinned on first use before p2 stopped the resolution; p3 was not reached
    }

    [Fact]
    public async Task WithoutTrustOnFirstUse_AnUnpinnedPodIsRefused_NotTakenFromTheRegistry()
    {
        var store = new PinStore(null, [new Pin("t", PinKinds.Pod, "p1", A, PinSources.Configured, default)], trustOnFirstUse: false, notice: notices.Add);
        var error = await Assert.ThrowsAsync<PinMismatchException>(() => AggregationSession.PinsAsync(Client(), Session, store, default));
        Assert.Equal(("p2", null, B), (error.Id, error.Pinned, error.Presented));
        Assert.Empty(notices);
    }

    [Fact]
    public async Task APodWithoutAnIdentity_IsRefused()
    {
        registry["p3"] = null;
        var error = await Assert.ThrowsAsync<PinMismatchException>(() => AggregationSession.PinsAsync(Client(), Session, new PinStore(null, notice: notices.Add), default));
        Assert.Equal(("p3", null), (error.Id, error.Presented));
    }

    [Fact]
    public async Task APodKnowsItsOwnKey_AndDoesNotAskTheRegistryOrPinItself()
    {
        registry["p1"] = Evil; // what the service says about p1 does not matter to p1
        var store = new PinStore(null, notice: notices.Add);
        var pins = await AggregationSession.PinsAsync(Client(), Session, store, default, ("p1", A));

        Assert.Equal(A, pins[1]);
        Assert.DoesNotContain("p1", asked);
        Assert.Null(store.Find("t", PinKinds.Pod, "p1"));
        Assert.Equal(2, notices.Count);
    }

    /// <summary>Answers <c>GET v1/tenants/t/pods/{id}</c> from <see cref="registry"/>.</summary>
    private sealed class FakeRegistry(PodPinResolutionTests test) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var pod = request.RequestUri!.Segments[^1];
            Assert.Equal(HttpMethod.Get, request.Method);
            Assert.Equal("/v1/tenants/t/pods/" + pod, request.RequestUri.AbsolutePath);
            lock (test.asked) test.asked.Add(pod);
            var member = new MemberResponse("t", pod, pod, default, IdentityFingerprint: test.registry[pod]);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(member) });
        }
    }
}
