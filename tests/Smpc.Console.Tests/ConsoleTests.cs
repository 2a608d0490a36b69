using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Smpc.Agent.SecureAggregation;
using Smpc.Client;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Gateway.Tests;
using static Microsoft.Playwright.Assertions;

namespace Smpc.Console.Tests;

/// <summary>The tenant console in a real browser against a real embedded service, as a tenant admin and a modeller use it.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleTests(ConsoleFixture fixture)
{
    private EmbeddedService Service => fixture.Service;

    private static AggregationRequest Mean() => new([new AggregationFieldRequest("w", 4, -100, 100)], "mean", "", "weights") { PhaseTimeoutSeconds = 600 };

    [BrowserFact]
    public async Task SignIn_WithTheAdminKey_ShowsTheTenantsSessions_AndAWrongKeyShowsAnError()
    {
        var t = await Scenario.TenantWithSessionAsync(Service, "s-signin");
        await using var console = await ConsolePage.OpenAsync(fixture);

        await console.Page.GotoAsync("/console/");
        await console.Page.GetByLabel("Tenant id").FillAsync(t.Tenant);
        await console.Page.GetByLabel("API key").FillAsync("smpc_" + new string('a', 40));
        await console.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(console.Page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not accepted");
        Assert.Null(await console.Page.EvaluateAsync<string?>("sessionStorage.getItem('smpc.console')"));

        await console.SignInAsync(t.Tenant, await AdminKeyAsync(t));
        await Expect(console.Page.GetByTestId("who")).ToContainTextAsync($"{t.Tenant} · tenant admin");
        await Expect(console.Page.GetByTestId("sessions").GetByRole(AriaRole.Link, new() { Name = "s-signin" })).ToBeVisibleAsync();
        Assert.Empty(console.Outside);
    }

    [BrowserFact]
    public async Task SessionPage_FollowsASecureAggregationSessionToCompleted_WithoutAReload()
    {
        var pods = new[] { "p1", "p2", "p3" };
        var t = await Scenario.TenantAsync(Service, pods);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "agg", "m1", pods, Mean());
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(t.Tenant, await AdminKeyAsync(t));
        await console.Page.GetByTestId("sessions").GetByRole(AriaRole.Link, new() { Name = "agg" }).ClickAsync();
        await Expect(console.Page.GetByTestId("live")).ToContainTextAsync("Live");
        var before = await console.Page.GetByTestId("phase").TextContentAsync();
        Assert.NotEqual(SessionPhases.Completed, before);
        await console.Page.EvaluateAsync("window.sameDocument = true"); // gone if the page reloads

        // The pods and the modeller run their sides in this process over HTTP, as separate machines would.
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var podRuns = pods.Select((pod, i) => new SecureAggregationPodDriver(t.Pods[pod], t.Tenant, "agg", pod, t.Identities[pod], _ => [i, 2 * i, -i, 1])
        {
            PollInterval = TimeSpan.FromMilliseconds(50),
        }.RunAsync(cts.Token)).ToList();
        var outcome = await modeller.WaitForResultAsync(cts.Token);
        await Task.WhenAll(podRuns);
        Assert.Equal([1.0, 2.0, -1.0, 1.0], outcome.Values["w"]);

        await Expect(console.Page.GetByTestId("phase")).ToHaveTextAsync(SessionPhases.Completed);
        await Expect(console.Page.GetByTestId("live")).ToContainTextAsync("Ended: completed");
        Assert.True(await console.Page.EvaluateAsync<bool>("window.sameDocument === true"), "the page was reloaded");
        var seen = await console.Page.GetByTestId("phases-seen").Locator("tbody tr td:first-child").AllTextContentsAsync();
        Assert.Equal(before, seen[0]);
        Assert.Equal(SessionPhases.Completed, seen[^1]);
        await Expect(console.Page.GetByTestId("pods").Locator("tbody tr")).ToHaveCountAsync(3);
        await Expect(console.Page.GetByTestId("pods")).ToContainTextAsync("included");
        await Expect(console.Page.GetByTestId("timeline")).ToContainTextAsync(AuditEventTypes.SessionCompleted);
        Assert.Empty(console.Outside);
    }

    [BrowserFact]
    public async Task CancelButton_CancelsTheSession_AsTheApiThenShows()
    {
        var t = await Scenario.TenantWithSessionAsync(Service, "s-cancel");
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(t.Tenant, await AdminKeyAsync(t));
        await console.Page.GotoAsync("/console/sessions/s-cancel");
        await Expect(console.Page.GetByTestId("live")).ToContainTextAsync("Live");

        await console.Page.GetByLabel("Reason (optional)").FillAsync("wrong pods");
        await console.Page.GetByRole(AriaRole.Button, new() { Name = "Cancel session" }).ClickAsync();
        await console.Page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Cancel session" }).ClickAsync();

        await Expect(console.Page.GetByTestId("phase")).ToHaveTextAsync(SessionPhases.Cancelled);
        await Expect(console.Page.GetByTestId("cancellation")).ToContainTextAsync("wrong pods");
        await Expect(console.Page.GetByRole(AriaRole.Button, new() { Name = "Cancel session" })).ToHaveCountAsync(0);
        var session = await t.Admin.GetSessionAsync(t.Tenant, "s-cancel");
        Assert.Equal(SessionPhases.Cancelled, session.Phase);
        Assert.Equal("wrong pods", session.Cancellation!.Reason);
        Assert.Equal("TenantAdmin", session.Cancellation.Role);
    }

    [BrowserFact]
    public async Task AuditFilter_ShowsOnlyTheMatchingEntries_AndExportDownloadsThem()
    {
        var t = await Scenario.TenantWithSessionAsync(Service, "s-audit");
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(t.Tenant, await AdminKeyAsync(t));
        await console.NavigateAsync("Audit log", "Audit log");
        var rows = console.Page.GetByTestId("audit").Locator("tbody tr");
        var all = (await t.Admin.ListAuditAsync(t.Tenant)).Entries;
        await Expect(rows).ToHaveCountAsync(all.Count);

        await console.Page.GetByLabel("Event type").FillAsync(AuditEventTypes.PodRegistered);
        await console.Page.GetByRole(AriaRole.Button, new() { Name = "Filter", Exact = true }).ClickAsync();

        var expected = (await t.Admin.ListAuditAsync(t.Tenant, new AuditFilter(Type: AuditEventTypes.PodRegistered))).Entries;
        Assert.Equal(3, expected.Count);
        Assert.True(all.Count > expected.Count);
        await Expect(rows).ToHaveCountAsync(expected.Count);
        var types = await rows.Locator("td:nth-child(3)").AllTextContentsAsync();
        Assert.All(types, type => Assert.Equal(AuditEventTypes.PodRegistered, type));
        var sequences = await rows.Locator("td:first-child").AllTextContentsAsync();
        Assert.Equal(expected.Select(e => e.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)), sequences);

        var download = await console.Page.RunAndWaitForDownloadAsync(() => console.Page.GetByRole(AriaRole.Button, new() { Name = "Export" }).ClickAsync());
        var lines = File.ReadAllLines(await download.PathAsync());
        Assert.Equal(expected.Count, lines.Length);
        Assert.All(lines, line => Assert.Contains($"\"type\":\"{AuditEventTypes.PodRegistered}\"", line, StringComparison.Ordinal));
    }

    [BrowserFact]
    public async Task RotateKey_ShowsTheNewKeyOnce_SchedulesTheOldKeysRevocation_AndTheNewKeyWorks()
    {
        var t = await Scenario.TenantAsync(Service);
        var old = t.ModellerKey.KeyId;
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(t.Tenant, await AdminKeyAsync(t));
        await console.NavigateAsync("Members and keys", "Members and keys");
        await Expect(console.Page.GetByTestId("pods").Locator("tbody tr")).ToHaveCountAsync(3);
        var fingerprint = (await t.Admin.GetPodAsync(t.Tenant, "p1")).IdentityFingerprint!;
        await Expect(console.Page.GetByTestId("pods")).ToContainTextAsync(fingerprint);

        var section = console.Page.GetByTestId("keys-modeller-m1");
        await section.GetByRole(AriaRole.Row).Filter(new() { HasText = old }).GetByLabel("Overlap (hours)").FillAsync("2");
        var asked = DateTimeOffset.UtcNow;
        await section.GetByRole(AriaRole.Button, new() { Name = $"Rotate key {old}" }).ClickAsync();
        await console.Page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Rotate" }).ClickAsync();
        await Expect(console.Page.GetByTestId("notice")).ToContainTextAsync($"Old key {old} is revoked");

        var newKey = (await console.Page.GetByTestId("secret").TextContentAsync())!.Trim();
        var me = await Service.Anonymous.WithKey(newKey).WhoAmIAsync();
        Assert.Equal(("Modeller", t.Tenant, "m1"), (me.Role, me.Tenant, me.Subject));
        Assert.NotEqual(old, me.KeyId);
        var revokedAt = (await t.Admin.GetKeyAsync(t.Tenant, old)).RevokedAt;
        Assert.NotNull(revokedAt);
        Assert.InRange(revokedAt!.Value, asked.AddHours(2).AddMinutes(-5), asked.AddHours(2).AddMinutes(5));
        Assert.Equal("Modeller", (await t.Modeller.WhoAmIAsync()).Role); // the old key still works during the overlap
        await Expect(section.GetByRole(AriaRole.Row).Filter(new() { HasText = me.KeyId! })).ToHaveCountAsync(1);
        await Expect(section.GetByRole(AriaRole.Row).Filter(new() { HasText = old })).ToContainTextAsync("(scheduled)");

        // Shown once: not kept by the page, its storage, or the list after a reload.
        Assert.DoesNotContain(newKey, await console.Page.EvaluateAsync<string>("JSON.stringify(sessionStorage) + JSON.stringify(localStorage) + document.cookie"), StringComparison.Ordinal);
        await console.Page.ReloadAsync();
        await Expect(console.Page.GetByTestId("keys-modeller-m1").GetByRole(AriaRole.Row).Filter(new() { HasText = me.KeyId! })).ToHaveCountAsync(1);
        Assert.DoesNotContain(newKey, await console.Page.ContentAsync(), StringComparison.Ordinal);
    }

    [BrowserFact]
    public async Task ModellerKey_SeesItsSessions_AndNoAdminPageOrAction()
    {
        var t = await Scenario.TenantWithSessionAsync(Service, "s-modeller");
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(t.Tenant, t.ModellerKey.ApiKey);
        await Expect(console.Page.GetByTestId("who")).ToContainTextAsync("modeller m1");
        await Expect(console.Page.GetByTestId("sessions").GetByRole(AriaRole.Link, new() { Name = "s-modeller" })).ToBeVisibleAsync();
        var links = await console.Page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link).AllTextContentsAsync();
        Assert.Equal(["Sessions"], links);

        foreach (var adminPage in new[] { "members", "audit", "usage", "webhooks" })
        {
            await console.Page.GotoAsync($"/console/{adminPage}");
            await Expect(console.Page.GetByRole(AriaRole.Heading, new() { Name = "Sessions", Level = 1 })).ToBeVisibleAsync();
            await Expect(console.Page).ToHaveURLAsync(new Regex("/console/sessions"));
        }

        await Expect(console.Page.GetByRole(AriaRole.Button, new() { Name = "Issue a key" })).ToHaveCountAsync(0);
        await Expect(console.Page.GetByRole(AriaRole.Button, new() { Name = "Add endpoint" })).ToHaveCountAsync(0);
        await console.Page.GotoAsync("/console/sessions/s-modeller");
        await Expect(console.Page.GetByTestId("phase")).ToBeVisibleAsync();
        await Expect(console.Page.GetByTestId("timeline")).ToHaveCountAsync(0); // the audit log is the admin's
        Assert.Empty(console.Outside);
    }

    [BrowserFact]
    public async Task TheKey_IsKeptInSessionStorageOnly_NeverInACookieOrLocalStorage()
    {
        var t = await Scenario.TenantAsync(Service);
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(t.Tenant, await AdminKeyAsync(t));
        await console.NavigateAsync("Members and keys", "Members and keys");

        Assert.Contains(await AdminKeyAsync(t), await console.Page.EvaluateAsync<string>("sessionStorage.getItem('smpc.console')"), StringComparison.Ordinal);
        Assert.Equal(0, await console.Page.EvaluateAsync<int>("localStorage.length"));
        Assert.Empty(await console.Context.CookiesAsync());
        Assert.Equal("", await console.Page.EvaluateAsync<string>("document.cookie"));

        // Another tab of a fresh context (a new browser session) is signed out.
        await using var other = await ConsolePage.OpenAsync(fixture);
        await other.Page.GotoAsync("/console/members");
        await Expect(other.Page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();

        await console.Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(console.Page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        Assert.Null(await console.Page.EvaluateAsync<string?>("sessionStorage.getItem('smpc.console')"));
    }

    [BrowserFact]
    public async Task SessionFilters_ShowOnlyTheMatchingSessions()
    {
        var t = await Scenario.TenantAsync(Service, ["p1", "p2", "p3", "p4"]);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s-open", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s-ended", "m1", SessionKinds.SecureAggregation, ["p2", "p3", "p4"], Scenario.SmallAggregation()));
        await t.Admin.CancelSessionAsync(t.Tenant, "s-ended", "not needed");
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(t.Tenant, await AdminKeyAsync(t));
        var ids = console.Page.GetByTestId("sessions").Locator("tbody tr td:first-child");
        await Expect(ids).ToHaveTextAsync(["s-ended", "s-open"]); // newest first

        await console.Page.GetByLabel("Phase").SelectOptionAsync("ended");
        await console.Page.GetByRole(AriaRole.Button, new() { Name = "Filter", Exact = true }).ClickAsync();
        await Expect(ids).ToHaveTextAsync(["s-ended"]);
        await Expect(console.Page).ToHaveURLAsync(new Regex("[?&]phase=ended"));

        await console.Page.GetByLabel("Phase").SelectOptionAsync("active");
        await console.Page.GetByLabel("Pod").FillAsync("p2");
        await console.Page.GetByRole(AriaRole.Button, new() { Name = "Filter", Exact = true }).ClickAsync();
        await Expect(ids).ToHaveTextAsync(["s-open"]);

        await console.Page.GetByLabel("Phase").SelectOptionAsync("");
        await console.Page.GetByLabel("Pod").FillAsync("p1");
        await console.Page.GetByRole(AriaRole.Button, new() { Name = "Filter", Exact = true }).ClickAsync();
        await Expect(ids).ToHaveTextAsync(["s-open"]);

        await console.Page.GetByLabel("Pod").FillAsync("p4");
        await console.Page.GetByLabel("Phase").SelectOptionAsync("cancelled");
        await console.Page.GetByRole(AriaRole.Button, new() { Name = "Filter", Exact = true }).ClickAsync();
        await Expect(ids).ToHaveTextAsync(["s-ended"]);
    }

    [Fact]
    public async Task Gateway_ServesTheConsole_WithAStrictPolicy_AndIndexHtmlForClientRoutes()
    {
        using var page = await Service.Http.GetAsync("console/sessions/some-session");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<script type=\"module\" crossorigin src=\"/console/assets/", html, StringComparison.Ordinal);
        Assert.DoesNotMatch(new Regex("<script(?![^>]*\\bsrc=)[^>]*>"), html); // no inline script
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", csp, StringComparison.Ordinal);

        var script = Regex.Match(html, "src=\"(/console/assets/[^\"]+\\.js)\"").Groups[1].Value;
        using var asset = await Service.Http.GetAsync(script.TrimStart('/'));
        Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
        Assert.Equal("text/javascript", asset.Content.Headers.ContentType!.MediaType);
        using var missing = await Service.Http.GetAsync("console/assets/missing.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType!.MediaType);

        // The API is unchanged beside it: /v1 still needs a key, and the console is not in the OpenAPI document.
        using var api = await Service.Http.GetAsync("v1/me");
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        Assert.DoesNotContain("/console", await Service.Http.GetStringAsync("openapi/v1.json"), StringComparison.Ordinal);
    }

    /// <summary>An admin key of the tenant as the console's user holds it (the scenario's own admin client hides its key).</summary>
    private static async Task<string> AdminKeyAsync(TenantClients t)
    {
        if (!AdminKeys.TryGetValue(t.Tenant, out var key)) AdminKeys[t.Tenant] = key = (await t.Admin.IssueAdminKeyAsync(t.Tenant)).ApiKey;
        return key;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> AdminKeys = new();
}
