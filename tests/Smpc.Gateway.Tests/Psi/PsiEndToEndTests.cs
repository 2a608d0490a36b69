using Smpc.Agent.Psi;
using Smpc.Client.Psi;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests.Psi;

/// <summary>Whole PSI sessions over real HTTP: both protocols, both modes, normalisation, duplicates and edge-size sets.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class PsiEndToEndTests(EmbeddedService service)
{
    [Theory]
    [InlineData(PsiProtocolNames.Ecdh)]
    [InlineData(PsiProtocolNames.RsaBlind)]
    public async Task Intersection_FindsTheRecordsDespiteCaseSpacingUnicodeAndPhoneFormats(string protocol)
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var (outcome, failure, _) = await scenario.RunAsync(t, PsiScenario.Spec(protocol, PsiModeNames.Intersection));

        Assert.Null(failure);
        Assert.Equal(5, outcome!.Count);
        Assert.Equal(scenario.OutputCsv, outcome.OutputPath);
        var written = await scenario.ReadOutputAsync();
        Assert.Equal(PsiScenario.ExpectedHits, written.Select(r => r[0]));
        Assert.Equal(PsiScenario.ModellerRows[1], written[1]); // the modeller's own row, exactly as it was (spaces and all)
        Assert.Equal(SessionPhases.Completed, outcome.Session.Phase);
        Assert.Equal(5, outcome.Session.Psi!.ReportedCount);
        Assert.Equal(6, outcome.Session.Psi.PodSetSize); // seven rows, one duplicate
    }

    [Theory]
    [InlineData(PsiProtocolNames.Ecdh, 0)]
    [InlineData(PsiProtocolNames.RsaBlind, 0)]
    [InlineData(PsiProtocolNames.Ecdh, 2)] // with a minimum count the pod counts (ecdh only)
    public async Task Cardinality_GivesTheCountAndNoRows(string protocol, long minCount)
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var (outcome, failure, _) = await scenario.RunAsync(t, PsiScenario.Spec(protocol, PsiModeNames.Cardinality), new PsiPolicy { MinCount = minCount });

        Assert.Null(failure);
        var ecdh = protocol == PsiProtocolNames.Ecdh;
        Assert.Equal(ecdh ? 4 : 5, outcome!.Count); // ecdh counts distinct records (hit-4a and hit-4b are one record)
        Assert.Null(outcome.MatchedRows);
        Assert.False(File.Exists(scenario.OutputCsv));
        Assert.Equal(ecdh, outcome.Session.Psi!.CountedByPod); // ecdh cardinality is always counted by the pod
        Assert.Null(outcome.Session.Psi.PodCount); // the pod seals its count to the modeller: the service never holds it
        Assert.Equal(ecdh, outcome.Session.Psi.SealedCount is not null);
        Assert.Equal(ecdh ? 4 : 5, outcome.Session.Psi.ReportedCount);
    }

    [Theory]
    [InlineData(PsiProtocolNames.Ecdh, "none")]
    [InlineData(PsiProtocolNames.Ecdh, "all")]
    [InlineData(PsiProtocolNames.Ecdh, "empty-modeller")]
    [InlineData(PsiProtocolNames.Ecdh, "empty-pod")]
    [InlineData(PsiProtocolNames.RsaBlind, "empty-modeller")]
    [InlineData(PsiProtocolNames.RsaBlind, "empty-pod")]
    public async Task EdgeSets_EmptyOrFullIntersectionsAndEmptySides(string protocol, string shape)
    {
        using var scenario = new PsiScenario();
        var misses = PsiScenario.ModellerRows.Where(r => r[0]!.StartsWith("miss", StringComparison.Ordinal)).ToArray();
        var hits = PsiScenario.ModellerRows.Where(r => r[0]!.StartsWith("hit", StringComparison.Ordinal)).ToArray();
        var (mine, theirs, expected) = shape switch
        {
            "none" => (misses, PsiScenario.PodRows, 0),
            "all" => (hits, PsiScenario.PodRows, hits.Length),
            "empty-modeller" => ([], PsiScenario.PodRows, 0),
            _ => (PsiScenario.ModellerRows, Array.Empty<string?[]>(), 0),
        };
        scenario.Write(mine, theirs);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        foreach (var mode in new[] { PsiModeNames.Intersection, PsiModeNames.Cardinality })
        {
            var (outcome, failure, _) = await scenario.RunAsync(t, PsiScenario.Spec(protocol, mode), sessionId: "psi-" + mode);
            Assert.Null(failure);
            var distinct = protocol == PsiProtocolNames.Ecdh && mode == PsiModeNames.Cardinality && shape == "all" ? expected - 1 : expected; // hit-4a = hit-4b
            Assert.Equal(distinct, outcome!.Count);
            Assert.Equal(SessionPhases.Completed, outcome.Session.Phase);
            if (mode == PsiModeNames.Intersection) Assert.Equal(expected, (await scenario.ReadOutputAsync()).Count);
        }
    }

    [Fact]
    public async Task SetReuse_WhenThePolicyAllows_UsesTheSameEncodedSetAndStillFindsTheMatches()
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var policy = new PsiPolicy { SetReuseHours = 1 };
        var first = await scenario.RunAsync(t, PsiScenario.Spec(PsiProtocolNames.Ecdh, PsiModeNames.Intersection), policy, "reuse-1");
        var cached = Directory.GetFiles(Path.Combine(scenario.Folder, "pod-state", "psi-sets"), "*.set").Single();
        var stamp = File.GetLastWriteTimeUtc(cached);
        var second = await scenario.RunAsync(t, PsiScenario.Spec(PsiProtocolNames.Ecdh, PsiModeNames.Intersection), policy, "reuse-2");
        Assert.Equal(5, first.Outcome!.Count);
        Assert.Equal(5, second.Outcome!.Count);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(cached)); // not re-encoded
        var key = Directory.GetFiles(Path.Combine(scenario.Folder, "pod-state", "psi-sets"), "*.key").Single();
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
    }

    [Fact]
    public async Task ByDefault_EverySessionHasAFreshKey_AndNothingIsKept()
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var (outcome, _, _) = await scenario.RunAsync(t, PsiScenario.Spec(PsiProtocolNames.RsaBlind, PsiModeNames.Intersection));
        var again = await scenario.RunAsync(t, PsiScenario.Spec(PsiProtocolNames.RsaBlind, PsiModeNames.Intersection), sessionId: "psi2");
        Assert.NotEqual(outcome!.Session.Psi!.PublicKey, again.Outcome!.Session.Psi!.PublicKey);
        Assert.False(Directory.Exists(Path.Combine(scenario.Folder, "pod-state", "psi-sets")));
    }
}
