using System.Net.Http.Json;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Smpc.Agent.SecureAggregation;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Gateway.Tests;
using Smpc.TestSupport;
using static Microsoft.Playwright.Assertions;

namespace Smpc.Console.Tests;

/// <summary>
/// Every page of the console, signed in with the keyboard only: no accessibility violation axe-core finds, no request
/// outside loopback. With <c>SMPC_CONSOLE_SCREENSHOTS=1</c> it also writes the PNGs in docs/console/ (README, docs).
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class PageTourTests(ConsoleFixture fixture)
{
    private static readonly string? ScreenshotDirectory =
        Environment.GetEnvironmentVariable("SMPC_CONSOLE_SCREENSHOTS") == "1" ? Path.Combine(RepoPaths.Root, "docs", "console") : null;

    [BrowserFact]
    public async Task EveryPage_IsAccessible_KeyboardOperable_AndRequestsNothingOutsideLoopback()
    {
        var service = fixture.Service;
        var pods = new[] { "p1", "p2", "p3" };
        var t = await Scenario.TenantAsync(service, pods);
        await RunAggregationAsync(t, pods, "weekly-mean");
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("daily-mean", "m1", SessionKinds.SecureAggregation, pods, Scenario.SmallAggregation()));
        var adminKey = (await t.Admin.IssueAdminKeyAsync(t.Tenant)).ApiKey;
        await using var console = await ConsolePage.OpenAsync(fixture);
        var page = console.Page;
        await page.SetViewportSizeAsync(1280, 860);

        await page.GotoAsync("/console/");
        await Expect(page.GetByLabel("Tenant id")).ToBeFocusedAsync();
        await page.Keyboard.TypeAsync(t.Tenant);
        await page.Keyboard.PressAsync("Tab");
        await Expect(page.GetByLabel("API key")).ToBeFocusedAsync();
        await page.Keyboard.TypeAsync(adminKey);
        await CheckAsync(page, "signin");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sessions", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.GetByTestId("sessions").GetByRole(AriaRole.Link, new() { Name = "weekly-mean" })).ToBeVisibleAsync();
        await CheckAsync(page, "sessions");

        await page.GetByTestId("sessions").GetByRole(AriaRole.Link, new() { Name = "weekly-mean" }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByTestId("phase")).ToHaveTextAsync(SessionPhases.Completed);
        await Expect(page.GetByTestId("timeline")).ToContainTextAsync(AuditEventTypes.SessionCompleted);
        await CheckAsync(page, "session");

        await console.NavigateAsync("Members and keys", "Members and keys");
        await Expect(page.GetByTestId("keys-modeller-m1").GetByRole(AriaRole.Table)).ToBeVisibleAsync();
        await CheckAsync(page, "members");
        await console.NavigateAsync("Audit log", "Audit log");
        await Expect(page.GetByTestId("audit")).ToContainTextAsync(AuditEventTypes.SessionCompleted);
        await CheckAsync(page, "audit");
        await console.NavigateAsync("Quotas and usage", "Quotas and usage");
        await Expect(page.GetByTestId("usage")).ToBeVisibleAsync();
        await CheckAsync(page, "usage");
        using (var api = new HttpClient { BaseAddress = service.Http.BaseAddress })
        {
            api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminKey);
            using var created = await api.PostAsJsonAsync($"v1/tenants/{t.Tenant}/webhooks",
                new { url = "http://127.0.0.1:9/pipeline/smpc", eventTypes = new[] { "session.completed", "session.failed" }, description = "nightly pipeline" });
            created.EnsureSuccessStatusCode();
        }

        await console.NavigateAsync("Webhooks", "Webhooks");
        await Expect(page.GetByTestId("webhooks")).ToContainTextAsync("nightly pipeline");
        await CheckAsync(page, "webhooks");

        Assert.Empty(console.Outside);
    }

    /// <summary>axe-core's WCAG 2 A/AA rules find nothing; then the screenshot, when asked for.</summary>
    private static async Task CheckAsync(IPage page, string name)
    {
        var result = await page.RunAxe(new AxeRunOptions { RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
        Assert.True(result.Violations.Length == 0,
            $"{name}: " + string.Join("; ", result.Violations.Select(v => $"{v.Id} ({v.Impact}): {string.Join(", ", v.Nodes.Select(n => n.Html))}")));
        if (ScreenshotDirectory is null) return;
        Directory.CreateDirectory(ScreenshotDirectory);
        await page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotDirectory, $"{name}.png"), FullPage = true });
    }

    /// <summary>A real secure-aggregation session to completion: pods and modeller in this process, over HTTP.</summary>
    internal static async Task RunAggregationAsync(TenantClients t, string[] pods, string sessionId)
    {
        var spec = new AggregationRequest([new AggregationFieldRequest("w", 4, -100, 100)], "mean", "", "weights") { PhaseTimeoutSeconds = 600 };
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, sessionId, "m1", pods, spec);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var runs = pods.Select((pod, i) => new SecureAggregationPodDriver(t.Pods[pod], t.Tenant, sessionId, pod, t.Identities[pod], _ => [i, 1, 2, 3])
        {
            PollInterval = TimeSpan.FromMilliseconds(50),
        }.RunAsync(cts.Token)).ToList();
        await modeller.WaitForResultAsync(cts.Token);
        await Task.WhenAll(runs);
    }
}
