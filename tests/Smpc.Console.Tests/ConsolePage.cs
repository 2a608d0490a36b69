using System.Collections.Concurrent;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Smpc.Console.Tests;

/// <summary>One browser context and page on the console, with what it requested outside loopback.</summary>
public sealed class ConsolePage : IAsyncDisposable
{
    private ConsolePage(IBrowserContext context, IPage page, ConcurrentQueue<string> outside)
    {
        Context = context;
        Page = page;
        Outside = outside;
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    /// <summary>Every request the page tried to send to a host other than loopback (each was aborted).</summary>
    public ConcurrentQueue<string> Outside { get; }

    public static async Task<ConsolePage> OpenAsync(ConsoleFixture fixture)
    {
        var outside = new ConcurrentQueue<string>();
        var context = await fixture.NewContextAsync(outside);
        var page = await context.NewPageAsync();
        return new ConsolePage(context, page, outside);
    }

    /// <summary>Signs in through the form and waits for the sessions page.</summary>
    public async Task SignInAsync(string tenant, string key)
    {
        await Page.GotoAsync("/console/");
        await Page.GetByLabel("Tenant id").FillAsync(tenant);
        await Page.GetByLabel("API key").FillAsync(key);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Sessions", Level = 1 })).ToBeVisibleAsync();
    }

    /// <summary>Follows a link of the console's navigation (client-side, no reload).</summary>
    public async Task NavigateAsync(string label, string heading)
    {
        await Page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = label, Exact = true }).ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = heading, Level = 1 })).ToBeVisibleAsync();
    }

    public async ValueTask DisposeAsync() => await Context.CloseAsync();
}
