using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Playwright;
using Smpc.Contracts;
using Smpc.Gateway.Tests;
using Smpc.TestSupport;
using static Microsoft.Playwright.Assertions;

namespace Smpc.Console.Tests;

/// <summary>Webhook endpoints from the console: create (secret shown once), see the delivery log, redeliver, delete.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class WebhookPageTests(ConsoleFixture fixture)
{
    [BrowserFact]
    public async Task Webhooks_CreateShowsTheSecretOnce_TheLogShowsDeliveries_RedeliverSendsAgain_AndDeleteRemovesIt()
    {
        using var receiver = new Receiver();
        var t = await Scenario.TenantAsync(fixture.Service);
        var adminKey = (await t.Admin.IssueAdminKeyAsync(t.Tenant)).ApiKey;
        using var api = new HttpClient { BaseAddress = fixture.Service.Http.BaseAddress };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        await using var console = await ConsolePage.OpenAsync(fixture);
        var page = console.Page;
        await console.SignInAsync(t.Tenant, adminKey);
        await console.NavigateAsync("Webhooks", "Webhooks");

        await page.GetByLabel("URL").FillAsync(receiver.Url);
        await page.GetByLabel("Description (optional)").FillAsync("pipeline");
        await page.GetByLabel("session.created").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add endpoint" }).ClickAsync();
        await Expect(page.GetByTestId("secret")).ToContainTextAsync("whsec_");
        var secret = (await page.GetByTestId("secret").TextContentAsync())!.Trim();
        await Expect(page.GetByTestId("webhooks").GetByRole(AriaRole.Link, new() { Name = receiver.Url })).ToBeVisibleAsync();
        using (var listed = JsonDocument.Parse(await api.GetStringAsync($"v1/tenants/{t.Tenant}/webhooks")))
        {
            var hook = Assert.Single(listed.RootElement.EnumerateArray());
            Assert.Equal(receiver.Url, hook.GetProperty("url").GetString());
            Assert.Equal(["session.created"], hook.GetProperty("eventTypes").EnumerateArray().Select(e => e.GetString()));
        }

        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("s-hook", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], Scenario.SmallAggregation()));
        Assert.True(await Poll.UntilAsync(() => Task.FromResult(receiver.Received.Count >= 1), TimeSpan.FromMinutes(2)), "no delivery arrived");
        await page.GetByTestId("webhooks").GetByRole(AriaRole.Link, new() { Name = receiver.Url }).ClickAsync();
        var rows = page.GetByTestId("deliveries").Locator("tbody tr");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows).ToContainTextAsync("session.created");
        await Expect(rows).ToContainTextAsync("delivered");

        await rows.GetByRole(AriaRole.Button).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "queued again" })).ToBeVisibleAsync();
        Assert.True(await Poll.UntilAsync(() => Task.FromResult(receiver.Received.Count >= 2), TimeSpan.FromMinutes(2)), "the redelivery did not arrive");
        Assert.Equal(receiver.Received.First(), receiver.Received.Last()); // the same webhook-id again

        await page.GetByRole(AriaRole.Link, new() { Name = "← Webhooks" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = $"Delete endpoint {receiver.Url}" }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await Expect(page.GetByTestId("webhooks").Locator("tbody tr")).ToHaveTextAsync(["Nothing to show."]);
        Assert.Equal("[]", await api.GetStringAsync($"v1/tenants/{t.Tenant}/webhooks"));

        // Shown once: a reload of the page does not hold the secret.
        await page.ReloadAsync();
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);
        Assert.Empty(console.Outside);
    }

    /// <summary>A webhook receiver on loopback that answers 200 and records each delivery's webhook-id.</summary>
    private sealed class Receiver : IDisposable
    {
        private readonly HttpListener _listener = new();

        public Receiver()
        {
            Url = $"http://127.0.0.1:{FreePort.Next()}/hook/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try
                    {
                        context = await _listener.GetContextAsync();
                    }
                    catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                    {
                        return;
                    }

                    Received.Enqueue(context.Request.Headers["webhook-id"] ?? "");
                    context.Response.StatusCode = 200;
                    context.Response.Close();
                }
            });
        }

        public string Url { get; }

        public ConcurrentQueue<string> Received { get; } = new();

        public void Dispose() => _listener.Close();
    }
}
