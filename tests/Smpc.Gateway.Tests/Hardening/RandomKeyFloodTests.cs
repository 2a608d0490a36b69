using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using Smpc.Contracts;
using Smpc.Gateway.Tests.Attacks;
using Smpc.TestSupport;

namespace Smpc.Gateway.Tests.Hardening;

/// <summary>An embedded service with the default per-address failed-authentication budget (the shared one lifts it).</summary>
public sealed class DefaultBudgetService : EmbeddedService
{
    protected override IEnumerable<string> Settings => [];
}

[CollectionDefinition(Name)]
public sealed class DefaultBudgetServiceCollection : ICollectionFixture<DefaultBudgetService>
{
    public const string Name = "embedded service with default address budgets";
}

/// <summary>
/// Floods of well-formed random keys (finding 1 of the outside probe): every such key used to activate and keep a credential
/// grain for 15 minutes, growing silo memory without bound. Now one address is cut off after its failed-authentication
/// budget before any grain is touched, and keys that were never issued keep no activation, whatever the addresses.
/// </summary>
[Collection(DefaultBudgetServiceCollection.Name)]
public sealed class RandomKeyFloodTests(DefaultBudgetService service)
{
    private const int Budget = 50; // RateLimitOptions.FailedAuthenticationsBurst

    [Fact]
    public async Task OneAddressFloodingRandomKeys_IsCutOffAfterItsBudget_BeforeAnyKeyLookup()
    {
        var before = await CredentialActivationsAsync();
        var answers = new List<Answer>();
        for (var i = 0; i < 200; i++) answers.Add(await AttackHttp.SendAsync(service.Http, HttpMethod.Get, "v1/me", RandomKey()));

        var unauthenticated = answers.Count(a => a.Status == HttpStatusCode.Unauthorized);
        var refused = answers.Where(a => a.Status == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(200, unauthenticated + refused.Count);
        Assert.InRange(unauthenticated, Budget, Budget + 20); // the burst, plus 5 a second while the loop ran
        Assert.All(refused, a => Assert.Equal(ProblemTypes.TooManyRequests, a.Type));
        Assert.All(refused, a => Assert.True(int.Parse(a.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture) >= 1));
        await WaitForActivationsAtMostAsync(before + 5);

        // Requests without a key from the same address are not refused for that (the public routes stay reachable).
        Assert.Equal(HttpStatusCode.OK, (await AttackHttp.SendAsync(service.Http, HttpMethod.Get, "health/live", null)).Status);
    }

    [Fact]
    public async Task RandomKeysFromManyAddresses_KeepNoCredentialActivations()
    {
        const int addresses = 40, perAddress = 25; // within each address's budget: every key is really looked up
        var before = await CredentialActivationsAsync();

        var floods = Enumerable.Range(2, addresses).Select(async a =>
        {
            using var http = FromAddress(IPAddress.Parse($"127.0.3.{a}"));
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < perAddress; i++) statuses.Add((await AttackHttp.SendAsync(http, HttpMethod.Get, "v1/me", RandomKey())).Status);
            return statuses;
        });
        var all = (await Task.WhenAll(floods)).SelectMany(s => s).ToList();

        Assert.Equal(addresses * perAddress, all.Count(s => s == HttpStatusCode.Unauthorized));
        // 1,000 unknown key ids were looked up; none keeps an activation (they used to live 15 minutes each).
        await WaitForActivationsAtMostAsync(before + 5);
    }

    private HttpClient FromAddress(IPAddress local)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                socket.Bind(new IPEndPoint(local, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return new HttpClient(handler) { BaseAddress = service.Http.BaseAddress };
    }

    private async Task<int> CredentialActivationsAsync()
    {
        var stats = await service.Grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        return stats.Where(s => s.GrainType.Contains("CredentialGrain", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
    }

    /// <summary>
    /// Deactivation follows each call asynchronously and Orleans raises no event for it, so this re-reads the exact
    /// condition (activation statistics) until it holds, with a generous bound; it never sleeps a fixed time to assume it.
    /// </summary>
    private async Task WaitForActivationsAtMostAsync(int bound)
    {
        var now = int.MaxValue;
        await Poll.UntilAsync(async () => (now = await CredentialActivationsAsync()) <= bound, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));
        Assert.True(now <= bound, $"{now} credential activations remain (at most {bound} expected)");
    }

    private static string RandomKey() =>
        $"smpc_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}_{Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";
}

/// <summary>A key pasted into a URL (finding 7), with the service's default logging: never echoed, never logged.</summary>
[Collection(DefaultBudgetServiceCollection.Name)]
public sealed class KeyInUrlTests(DefaultBudgetService service)
{
    [Fact]
    public async Task AKeyPastedIntoAUrl_IsNeitherEchoedNorLogged()
    {
        var t = await Scenario.TenantAsync(service);
        var secret = KeySecrets.Of(t.ModellerKey.ApiKey);
        var before = service.Logs.Lines.Count;

        var inPath = await AttackHttp.SendAsync(service.Http, HttpMethod.Get, $"v1/tenants/{t.Tenant}/sessions/{t.ModellerKey.ApiKey}", t.ModellerKey.ApiKey);
        var inQuery = await AttackHttp.SendAsync(service.Http, HttpMethod.Get, $"v1/tenants/{t.Tenant}/sessions?key={t.ModellerKey.ApiKey}", t.ModellerKey.ApiKey);

        foreach (var answer in new[] { inPath, inQuery })
        {
            Expect.Problem(HttpStatusCode.BadRequest, ProblemTypes.MalformedRequest, answer, "a key in the URL");
            Assert.DoesNotContain(secret, answer.Body, StringComparison.Ordinal);
            Assert.Contains("Authorization header", answer.Detail, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(service.Logs.Lines.Skip(before), line => line.Contains(secret, StringComparison.Ordinal));
    }

}
