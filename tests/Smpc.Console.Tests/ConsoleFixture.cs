using System.Collections.Concurrent;
using Microsoft.Playwright;
using Smpc.Gateway.Tests;

namespace Smpc.Console.Tests;

/// <summary>A real embedded service on loopback and one headless Chromium, shared by the console tests.</summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public EmbeddedService Service { get; } = new();

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>The service's base address (http://127.0.0.1:port).</summary>
    public string BaseUrl => Service.Http.BaseAddress!.ToString().TrimEnd('/');

    public async Task InitializeAsync()
    {
        // Expectations poll until their deadline: generous, for a busy machine; a passing one returns at once.
        Assertions.SetDefaultExpectTimeout(60_000);
        await Service.InitializeAsync();
        if (Chromium.SkipReason is not null) return;
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(Chromium.LaunchOptions);
    }

    /// <summary>
    /// A fresh browser context (its own storage and cookies) in which every request to a non-loopback host is aborted and
    /// recorded in <paramref name="outside"/>.
    /// </summary>
    public async Task<IBrowserContext> NewContextAsync(ConcurrentQueue<string> outside)
    {
        var context = await _browser!.NewContextAsync(new() { BaseURL = BaseUrl, AcceptDownloads = true });
        context.SetDefaultTimeout(60_000);
        await context.RouteAsync("**/*", async route =>
        {
            var uri = new Uri(route.Request.Url);
            if (uri.IsLoopback)
            {
                await route.ContinueAsync();
                return;
            }

            outside.Enqueue(route.Request.Url);
            await route.AbortAsync();
        });
        return context;
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.CloseAsync();
        _playwright?.Dispose();
        await Service.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleFixture>
{
    public const string Name = "console";
}
