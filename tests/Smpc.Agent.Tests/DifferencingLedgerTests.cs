using Smpc.Agent.SecureAggregation;

namespace Smpc.Agent.Tests;

/// <summary>
/// The pod's differencing guard: minimum pods per session, and no two sessions over one input whose pod sets differ in fewer
/// than k pods (docs/protocols/secure-aggregation.md, "Pod policy against differencing").
/// </summary>
public sealed class DifferencingLedgerTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DifferencingRule Default = DifferencingRule.For(new SecureAggregationPolicy(), null);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "smpc-ledger-" + Guid.NewGuid().ToString("N")[..8]);

    private DifferencingLedger LedgerOf(string pod) => new(Path.Combine(_root, pod, "state", "differencing-ledger.json"));

    [Fact]
    public void TheFourSessionAttack_IsRefused_ByAMajorityOfEveryLaterSession_SoOnlyOneSumIsEverFormed()
    {
        // Sums over {1,2,3}, {1,2,4}, {1,3,4}, {2,3,4} would give every input: x1 = (s123 + s124 + s134 + s234) / 3 − s234, …
        var ledgers = Enumerable.Range(1, 4).ToDictionary(p => $"p{p}", p => LedgerOf($"p{p}"));
        string[][] attack = [["p1", "p2", "p3"], ["p1", "p2", "p4"], ["p1", "p3", "p4"], ["p2", "p3", "p4"]];
        var completed = new List<string[]>();
        for (var i = 0; i < attack.Length; i++)
        {
            var pods = attack[i];
            var accepted = pods.Where(p => ledgers[p].Admit("input:x", $"s{i}", pods, Default, Start.AddHours(i)) is null).ToList();
            // n = 3, t = 2 (⌈2n/3⌉): the session completes only with at least t pods contributing.
            if (accepted.Count >= 2) completed.Add(pods);
            else foreach (var p in accepted) ledgers[p].Forget($"s{i}"); // the session failed before any masked input left
        }

        Assert.Equal([["p1", "p2", "p3"]], completed);
        Assert.Contains("differs from that of session s0", LedgerOf("p1").Admit("input:x", "s9", ["p1", "p2", "p4"], Default, Start.AddDays(1)));
    }

    [Theory]
    [InlineData(new[] { "p1", "p2", "p3", "p4" }, 1)] // one pod added: the difference is that pod's input
    [InlineData(new[] { "p1", "p2" }, -1)] // below the minimum group
    [InlineData(new[] { "p1", "p2", "p4" }, 2)] // one swapped: the difference of two inputs
    public void ASetCloseToAnEarlierOne_OrTooSmall_IsRefused(string[] second, int difference)
    {
        var ledger = LedgerOf("p1");
        Assert.Null(ledger.Admit("input:x", "s1", ["p1", "p2", "p3"], Default, Start));

        var refusal = ledger.Admit("input:x", "s2", second, Default, Start.AddMinutes(1));

        Assert.NotNull(refusal);
        Assert.Contains(difference < 0 ? "this pod takes part only with at least 3" : $"in {difference} pod(s)", refusal);
        Assert.Equal(["s1"], ledger.Sessions("input:x").Select(s => s.Session)); // a refused session is not recorded
    }

    [Fact]
    public void EqualSets_SetsFarApart_OtherInputs_AndTheSameSessionAgain_AreAdmitted()
    {
        var ledger = LedgerOf("p1");
        Assert.Null(ledger.Admit("input:x", "s1", ["p1", "p2", "p3"], Default, Start));
        Assert.Null(ledger.Admit("input:x", "s2", ["p3", "p2", "p1"], Default, Start)); // the same sum again tells nothing new
        Assert.Null(ledger.Admit("input:x", "s3", ["p1", "p4", "p5", "p6"], Default, Start)); // differs from {1,2,3} in 5 pods
        Assert.Null(ledger.Admit("input:y", "s4", ["p1", "p2", "p4"], Default, Start)); // another input
        Assert.Null(ledger.Admit("input:x", "s1", ["p1", "p2", "p3"], Default, Start)); // a restarted agent admits its session again

        Assert.Equal(["s1", "s2", "s3"], ledger.Sessions("input:x").Select(s => s.Session).Order());
        Assert.Equal(["p1", "p2", "p3"], ledger.Sessions("input:x").Single(s => s.Session == "s2").Pods);
    }

    [Fact]
    public void TheWindow_K_AndMinPods_ComeFromThePolicyOrTheInput()
    {
        var policy = new SecureAggregationPolicy { MinPods = 4, MinPodSetDifference = 2, DifferencingWindowDays = 7 };
        var rule = DifferencingRule.For(policy, null);
        Assert.Equal(new DifferencingRule(4, 2, TimeSpan.FromDays(7)), rule);
        Assert.Equal(new DifferencingRule(5, 5, null), DifferencingRule.For(new SecureAggregationPolicy(), new PodInput { Value = 1, MinPods = 5, DifferencingWindowDays = 0 }));
        Assert.Equal(new DifferencingRule(3, 3, TimeSpan.FromDays(90)), Default);
        Assert.Throws<InvalidDataException>(() => DifferencingRule.For(new SecureAggregationPolicy { MinPods = 2 }, null));
        Assert.Throws<InvalidDataException>(() => DifferencingRule.For(new SecureAggregationPolicy { MinPodSetDifference = 0 }, null));

        var ledger = LedgerOf("p1");
        Assert.Null(ledger.Admit("input:x", "s1", ["p1", "p2", "p3", "p4"], rule, Start));
        Assert.Null(ledger.Admit("input:x", "s2", ["p1", "p2", "p3", "p5"], rule, Start.AddDays(1))); // k = 2: a swap is allowed
        Assert.NotNull(ledger.Admit("input:x", "s3", ["p1", "p2", "p3", "p4", "p5"], rule, Start.AddDays(2))); // one more pod is not
        Assert.Null(ledger.Admit("input:x", "s3", ["p1", "p2", "p3", "p4", "p5"], rule, Start.AddDays(8.5))); // s1 and s2 are out of the window
        Assert.Equal(["s3"], ledger.Sessions("input:x").Select(s => s.Session));
    }

    [Fact]
    public void DroppingAPodFromASumOverTheSamePods_IsRefusedBeforeTheUnmaskAnswer_ButTheSameDropoutsAgainAreNot()
    {
        string[] all = ["p1", "p2", "p3", "p4"];
        var ledger = LedgerOf("p1");
        Assert.Null(ledger.Admit("input:x", "s1", all, Default, Start));
        Assert.Null(ledger.Confirm("input:x", "s1", all, Default, Start));

        // The same pod list passes the join check; a service that drops p4 (it "missed the deadline") would make the two
        // sums differ by x4, so the pods in the sum refuse to answer the unmask request.
        Assert.Null(ledger.Admit("input:x", "s2", all, Default, Start));
        Assert.Contains("its set of pods in the sum differs from that of session s1", ledger.Confirm("input:x", "s2", ["p1", "p2", "p3"], Default, Start));
        Assert.Contains("the sum would hold 2 pods' inputs", ledger.Confirm("input:x", "s2", ["p1", "p2"], Default, Start));

        // Another input where p4 declined both times: both sums are over {p1, p2, p3}.
        Assert.Null(ledger.Admit("input:y", "s3", all, Default, Start));
        Assert.Null(ledger.Confirm("input:y", "s3", ["p1", "p2", "p3"], Default, Start));
        Assert.Null(ledger.Admit("input:y", "s4", all, Default, Start));
        Assert.Null(ledger.Confirm("input:y", "s4", ["p1", "p2", "p3"], Default, Start));
        Assert.Equal(["p1", "p2", "p3"], ledger.Sessions("input:y").Single(s => s.Session == "s4").Included);
    }

    [Fact]
    public void RoundsOfOneTrainingSession_ShareAKey_AndSamePodsNeverConflict_WhileQueryRoundsHaveOneKeyEach()
    {
        var training = new Smpc.Contracts.SessionResponse("t", "train-1", "m1", Smpc.Contracts.SessionKinds.Training, ["p1", "p2", "p3", "p4"], "running", Start, 1);
        var query = training with { Id = "query-1", Kind = Smpc.Contracts.SessionKinds.Query };
        Assert.Equal("session:train-1", PodAgent.RoundLedgerKey(training, "round-1"));
        Assert.Equal(PodAgent.RoundLedgerKey(training, "round-1"), PodAgent.RoundLedgerKey(training, "round-2"));
        Assert.Equal("session:query-1/counts", PodAgent.RoundLedgerKey(query, "counts"));
        Assert.Equal("input:los", PodAgent.InputLedgerKey("los"));

        string[] all = ["p1", "p2", "p3", "p4"];
        var ledger = LedgerOf("p1");
        foreach (var round in new[] { "standardise", "round-1", "round-2", "round-3" })
        {
            Assert.Null(ledger.Admit("session:train-1", "r-" + round, all, Default, Start));
            Assert.Null(ledger.Confirm("session:train-1", "r-" + round, all, Default, Start));
        }

        // A round that lost one pod would differ from the others by that pod's update (nothing forces the model to change).
        Assert.Null(ledger.Admit("session:train-1", "r-round-4", all, Default, Start));
        Assert.NotNull(ledger.Confirm("session:train-1", "r-round-4", ["p1", "p2", "p3"], Default, Start));
    }

    [Fact]
    public void Forget_RemovesOnlyThatSession_AndTheLedgerSurvivesANewInstance()
    {
        Assert.Null(LedgerOf("p1").Admit("input:x", "s1", ["p1", "p2", "p3"], Default, Start));
        Assert.Null(LedgerOf("p1").Admit("input:y", "s2", ["p1", "p2", "p3"], Default, Start));

        LedgerOf("p1").Forget("s1");

        Assert.Empty(LedgerOf("p1").Sessions("input:x"));
        Assert.Single(LedgerOf("p1").Sessions("input:y"));
        Assert.Null(LedgerOf("p1").Admit("input:x", "s3", ["p1", "p2", "p4"], Default, Start)); // s1's input never left the pod
    }

    [Fact]
    public void ADamagedLedger_IsRefused_NotTakenAsEmpty()
    {
        var ledger = LedgerOf("p1");
        Directory.CreateDirectory(Path.GetDirectoryName(ledger.Path)!);
        File.WriteAllText(ledger.Path, "{ not json");

        Assert.Throws<InvalidDataException>(() => ledger.Admit("input:x", "s1", ["p1", "p2", "p3"], Default, Start));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void TheLedger_IsOwnerOnly_InAnOwnerOnlyDirectory()
    {
        var ledger = LedgerOf("p1");
        Assert.Null(ledger.Admit("input:x", "s1", ["p1", "p2", "p3"], Default, Start));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(ledger.Path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(ledger.Path)!));
        Assert.False(File.Exists(ledger.Path + ".tmp"));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
