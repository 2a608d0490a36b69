namespace Smpc.TestSupport;

/// <summary>Whether the tests run under CI, where a missing tool (promtool, Chromium) fails a test instead of skipping it.</summary>
public static class CiRun
{
    /// <summary><c>CI=true</c>, or a run of .ci/run (which exports <c>SMPC_CI_RUN</c>).</summary>
    public static bool Active => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)
        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("SMPC_CI_RUN"));
}
