using Smpc.Agent.DataSources;
using Smpc.Agent.Psi;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Agent.Tests.Psi;

/// <summary>The pod's policy for kkrt sessions: listed to be served, version kkrt-v1, limits counting the bins m(n), no pod-side minimum count.</summary>
public sealed class KkrtPodPolicyTests
{
    private static SessionResponse Session(long n, string mode = PsiModeNames.Intersection, string? version = KkrtPsiVersion.Current, string protocol = PsiProtocolNames.Kkrt) =>
        new("t", "s1", "m1", SessionKinds.Psi, ["p1"], SessionPhases.AwaitingPod, DateTimeOffset.UnixEpoch, 1,
            Psi: new PsiStatusResponse(protocol, mode, [new("a", "text")], [new("a", "text")], "customers", n, null, 600, null, null, false, false,
                null, false, false, false, null, null, null, Version: version));

    private static PsiPodDriver Pod(PsiPolicy policy) =>
        new(new SmpcClient(new HttpClient { BaseAddress = new Uri("http://127.0.0.1:1/") }), "t", "p1",
            new Dictionary<string, RecordSourceConfig> { ["customers"] = new() { Kind = "csv", Path = "x.csv" } }, policy, ".", ".", _ => { });

    private static readonly List<string> WithKkrt = [PsiProtocolNames.Ecdh, PsiProtocolNames.RsaBlind, PsiProtocolNames.Kkrt];

    [Fact]
    public void ByDefault_KkrtIsNotServed_AndTheOthersStillAre()
    {
        var pod = Pod(new PsiPolicy());
        Assert.StartsWith("protocol kkrt is not allowed", pod.Refusal(Session(10)));
        Assert.Null(pod.Refusal(Session(10, protocol: PsiProtocolNames.RsaBlind, version: null)));
    }

    [Fact]
    public void Listed_KkrtV1IsServed()
    {
        Assert.Null(Pod(new PsiPolicy { Protocols = WithKkrt }).Refusal(Session(10)));
        Assert.Null(Pod(new PsiPolicy { Protocols = WithKkrt }).Refusal(Session(0))); // m(0) = 256 bins
    }

    [Theory]
    [InlineData(null)]
    [InlineData("kkrt-v0")]
    [InlineData("ecdh-oprf-v1")]
    public void AnotherVersion_IsDeclinedAsUnsupported(string? version) =>
        Assert.StartsWith("unsupported-protocol-version: the session speaks kkrt", Pod(new PsiPolicy { Protocols = WithKkrt }).Refusal(Session(10, version: version)));

    [Fact]
    public void TheSessionLimit_CountsTheBins_NotTheRecords()
    {
        // n = 1000 gives m = 1756 bins: a limit of 1755 declines, 1756 serves, though both are far above n.
        Assert.Equal(1756, KkrtParameters.Bins(1000));
        var refusal = Pod(new PsiPolicy { Protocols = WithKkrt, MaxModellerSetSize = 1755 }).Refusal(Session(1000));
        Assert.Contains("1756 kkrt bins", refusal);
        Assert.Null(Pod(new PsiPolicy { Protocols = WithKkrt, MaxModellerSetSize = 1756 }).Refusal(Session(1000)));
        // The other protocols still count records.
        Assert.Null(Pod(new PsiPolicy { Protocols = WithKkrt, MaxModellerSetSize = 1000 }).Refusal(Session(1000, protocol: PsiProtocolNames.RsaBlind, version: null)));
        Assert.Equal(1000, PsiPodDriver.Capacity(Session(1000, protocol: PsiProtocolNames.Ecdh).Psi!));
        Assert.Equal(1756, PsiPodDriver.Capacity(Session(1000).Psi!));
    }

    [Fact]
    public void Cardinality_WithAMinimumCount_IsDeclined_WithoutOne_Served()
    {
        var refusal = Pod(new PsiPolicy { Protocols = WithKkrt, MinCount = 5 }).Refusal(Session(10, PsiModeNames.Cardinality));
        Assert.StartsWith("this pod withholds counts below a minimum", refusal);
        Assert.Null(Pod(new PsiPolicy { Protocols = WithKkrt }).Refusal(Session(10, PsiModeNames.Cardinality)));
        Assert.Null(Pod(new PsiPolicy { Protocols = WithKkrt, MinCount = 5 }).Refusal(Session(10)));
    }
}
