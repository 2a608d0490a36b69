using System.Diagnostics;

namespace Smpc.Gateway.Tests.Operations;

/// <summary>
/// The alert rules pass <c>promtool check rules</c> and their unit tests (<c>promtool test rules</c>). promtool comes with
/// Debian's <c>prometheus</c> package (installed by .ci/run): without it the tests fail under CI (CI=true or a .ci/run
/// run) and are skipped elsewhere.
/// </summary>
public sealed class AlertRulesTests
{
    /// <summary>promtool's path, or null when it is not installed.</summary>
    internal static readonly string? Promtool = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists);

    /// <summary>Under CI: <c>CI=true</c>, or a run of .ci/run (which exports <c>SMPC_CI_RUN</c>).</summary>
    internal static bool InCi => Smpc.TestSupport.CiRun.Active;

    /// <summary>A test that needs promtool: skipped without it, unless CI=true (where it runs and fails, saying why).</summary>
    public sealed class PromtoolFactAttribute : FactAttribute
    {
        public PromtoolFactAttribute()
        {
            if (Promtool is null && !InCi) Skip = "promtool is not installed (apt-get install prometheus)";
        }
    }

    [PromtoolFact]
    public async Task AlertRules_PassPromtoolCheck()
    {
        var (exit, output) = await RunPromtoolAsync("check", "rules", ObservabilityFiles.Alerts);
        Assert.True(exit == 0, "promtool check rules failed:\n" + output);
        Assert.Contains("SUCCESS", output);
    }

    [PromtoolFact]
    public async Task AlertRules_PassTheirUnitTests()
    {
        var (exit, output) = await RunPromtoolAsync("test", "rules", ObservabilityFiles.AlertTests);
        Assert.True(exit == 0, "promtool test rules failed:\n" + output);
    }

    [Fact]
    public void EveryAlert_HasAFiringTest_AndTheHealthyGroupChecksItStaysQuiet()
    {
        var alerts = ObservabilityFiles.Rules().Where(r => r.Alert is not null).Select(r => r.Alert!).ToList();
        var tests = File.ReadAllText(ObservabilityFiles.AlertTests);
        Assert.NotEmpty(alerts);
        foreach (var alert in alerts)
        {
            Assert.Contains($"alertname: {alert}\n        exp_alerts:\n          - exp_labels:", tests);
            Assert.Contains($"alertname: {alert}, exp_alerts: []", tests);
        }
    }

    private static async Task<(int Exit, string Output)> RunPromtoolAsync(params string[] args)
    {
        if (Promtool is null) Assert.Fail("promtool is not installed, and this is a CI run: .ci/run installs Debian's prometheus package, which provides it.");
        var start = new ProcessStartInfo(Promtool) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = ObservabilityFiles.Directory };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
