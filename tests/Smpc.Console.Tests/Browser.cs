using Microsoft.Playwright;

namespace Smpc.Console.Tests;

/// <summary>
/// Debian's Chromium driven by Playwright (never `playwright install`: there is no browser download here). Without it the
/// tests skip with the reason, except in CI (<c>CI=true</c>), where a missing browser is a failure.
/// </summary>
public static class Chromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    /// <summary>Why the browser tests cannot run here, or null.</summary>
    public static string? SkipReason =>
        File.Exists(ExecutablePath) || Smpc.TestSupport.CiRun.Active
            ? null
            : $"{ExecutablePath} is not installed (apt-get install chromium); set CI=true to make this a failure.";

    /// <summary>Headless, with nothing of its own going out (no updates, sync, or first-run pages).</summary>
    public static BrowserTypeLaunchOptions LaunchOptions => new()
    {
        ExecutablePath = ExecutablePath,
        Headless = true,
        // Playwright starts every launch with a fresh temporary profile (its own --user-data-dir).
        Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    };
}

/// <summary>A test that needs the browser: skipped with a reason when Chromium is absent outside CI.</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (Chromium.SkipReason is { } reason) Skip = reason;
    }
}
