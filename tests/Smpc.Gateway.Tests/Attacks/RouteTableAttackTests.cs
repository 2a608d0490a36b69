using System.Net;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests.Attacks;

/// <summary>
/// Every route of the committed OpenAPI document, attacked with no credential, revoked credentials, another tenant's
/// credentials and the wrong role of the victim's own tenant. Each attack gets exactly the status and problem type the
/// table in <see cref="RouteTable"/> states, and the victim's sessions, members, payloads and keys stay as they were.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class RouteTableAttackTests(EmbeddedService service)
{
    private const string Unclassified = "(unclassified)";

    /// <summary>Every documented route.</summary>
    public static TheoryData<string, string> Routes
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var (method, template) in RouteTable.Documented) data.Add(method, template);
            return data;
        }
    }

    /// <summary>Every tenant route × each attacker-tenant caller.</summary>
    public static TheoryData<string, string, string> ForeignCases => Cases(rule => rule.Foreign, RouteTable.Foreigners, attacked: true);

    /// <summary>Every tenant route × each victim-tenant caller the table refuses.</summary>
    public static TheoryData<string, string, string> WrongRoleCases => Cases(rule => rule.Insiders, RouteTable.Insiders, attacked: true);

    /// <summary>Every tenant GET route × each victim-tenant caller the table lets through.</summary>
    public static TheoryData<string, string, string> AllowedReads => Cases(rule => rule.Method == "GET" ? rule.Insiders : new string('-', rule.Insiders.Length), RouteTable.Insiders, attacked: false);

    private static TheoryData<string, string, string> Cases(Func<RouteRule, string> codes, string[] callers, bool attacked)
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (method, template) in RouteTable.Documented)
        {
            if (!RouteTable.Rules.TryGetValue($"{method} {template}", out var rule))
            {
                if (attacked) data.Add(method, template, Unclassified);
                continue;
            }

            if (rule.Access != Access.Tenant) continue;
            var row = codes(rule);
            for (var i = 0; i < callers.Length; i++)
                if ((row[i] != '+') == attacked && row[i] != '-') data.Add(method, template, callers[i]);
        }

        return data;
    }

    private static RouteRule Rule(string method, string template) => RouteTable.Rule(method, template);

    /// <summary>Sends the attack and checks the answer and that the victim is exactly as before.</summary>
    private async Task AttackAsync(RouteRule rule, string? key, HttpStatusCode status, string? type, string context)
    {
        var world = await AttackWorld.GetAsync(service);
        var before = await world.SnapshotAsync();

        var answer = await RouteTable.SendAsync(world, rule, key);

        Expect.Problem(status, type, answer, $"{rule.Key} {context}");
        Assert.Equal(before, await world.SnapshotAsync());
        if (rule.Template == "/v1/tenants") Assert.Equal(HttpStatusCode.NotFound, await world.IntruderTenantStatusAsync());
    }

    [Fact]
    public void TheTable_ClassifiesOnlyDocumentedRoutes_WithOneCodePerCaller()
    {
        var documented = RouteTable.Documented.Select(r => $"{r.Method} {r.Template}").ToHashSet();
        Assert.All(RouteTable.Rules.Keys, k => Assert.True(documented.Contains(k), $"{k} is classified but not in the document: remove it."));
        Assert.All(RouteTable.Rules.Values.Where(r => r.Access == Access.Tenant), r =>
        {
            Assert.Equal(RouteTable.Insiders.Length, r.Insiders.Length);
            Assert.Equal(RouteTable.Foreigners.Length, r.Foreign.Length);
            Assert.Contains('+', r.Insiders); // someone may call it: the route is reachable
        });
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task NoCredential_IsUnauthenticated(string method, string template)
    {
        var rule = Rule(method, template);
        if (rule.Access == Access.Public) await AttackAsync(rule, null, HttpStatusCode.OK, null, "without a credential");
        else await AttackAsync(rule, null, HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated, "without a credential");
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task RevokedKeys_AreUnauthenticated(string method, string template)
    {
        var rule = Rule(method, template);
        var world = await AttackWorld.GetAsync(service);
        foreach (var revoked in new[] { "revoked-admin", "revoked-m1", "revoked-p1" })
        {
            if (rule.Access == Access.Public) await AttackAsync(rule, world.Victim.Key(revoked), HttpStatusCode.OK, null, revoked);
            else await AttackAsync(rule, world.Victim.Key(revoked), HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated, revoked);
        }
    }

    [Theory]
    [MemberData(nameof(ForeignCases))]
    public async Task AnotherTenantsKey_GetsExactlyWhatTheTableSays(string method, string template, string who)
    {
        var rule = Rule(method, template); // an unclassified route fails here, whatever the caller
        Assert.NotEqual(Unclassified, who);
        var world = await AttackWorld.GetAsync(service);
        var (status, type) = RouteTable.Outcome(rule.Foreign[Array.IndexOf(RouteTable.Foreigners, who)])!.Value;
        await AttackAsync(rule, world.Attacker.Key(who), status, type, $"by the other tenant's {who}");
    }

    [Theory]
    [MemberData(nameof(WrongRoleCases))]
    public async Task TheWrongRole_GetsExactlyWhatTheTableSays(string method, string template, string who)
    {
        var rule = Rule(method, template); // an unclassified route fails here, whatever the caller
        Assert.NotEqual(Unclassified, who);
        var world = await AttackWorld.GetAsync(service);
        var (status, type) = RouteTable.Outcome(rule.Insiders[Array.IndexOf(RouteTable.Insiders, who)])!.Value;
        await AttackAsync(rule, RouteTable.InsiderKey(world, who), status, type, $"by the victim's {who}");
    }

    /// <summary>The control: the ids the attacks name are real, since the callers the table lets through get past every access check.</summary>
    [Theory]
    [MemberData(nameof(AllowedReads))]
    public async Task TheRightRole_GetsPastTheAccessChecks(string method, string template, string who)
    {
        var rule = Rule(method, template);
        var world = await AttackWorld.GetAsync(service);

        var answer = await RouteTable.SendAsync(world, rule, RouteTable.InsiderKey(world, who));

        // Reads of a later protocol step answer wrong-phase: access was granted, the step is not due yet.
        Assert.True(answer.Status == HttpStatusCode.OK || answer.Type == ProblemTypes.WrongPhase, $"{rule.Key} by {who}: {answer}");
    }
}
