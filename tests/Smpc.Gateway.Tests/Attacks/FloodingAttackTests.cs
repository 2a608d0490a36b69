using System.Net;
using System.Net.Http.Json;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests.Attacks;

/// <summary>
/// Flooding: with the operator's limit on a tenant set low, one credential fires requests concurrently. Some are refused
/// with 429 too-many-requests and a Retry-After, the rest succeed (no more than the burst allows), another tenant firing at
/// the same time is unaffected, and a refused request changes nothing: what exists afterwards is exactly what the
/// accepted requests created.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class FloodingAttackTests(EmbeddedService service)
{
    private const int Burst = 5;
    private const int Flood = 40;

    public static TheoryData<string> Floods => ["who am i", "read a session", "register pods", "create sessions", "upload payloads"];

    [Theory]
    [MemberData(nameof(Floods))]
    public async Task ACredentialOverItsTenantsRate_Gets429WithRetryAfter_WhileOthersAreUnaffected_AndRefusedRequestsChangeNothing(string flood)
    {
        var limited = await AttackTenant.CreateAsync(service, ["m1"], ["p1", "p2", "p3"]);
        var bystander = await AttackTenant.CreateAsync(service, ["m1"], ["p1", "p2", "p3"]);
        await limited.Client("m1").CreateSessionAsync(limited.Tenant,
            new CreateSessionRequest("s", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], AttackTenant.LongAggregation()));
        var before = await StateAsync(limited);
        // The slowest rate there is (one token per 1,000 s): no token comes back during the test, so exactly the burst is
        // the bound, whatever the machine's speed.
        await service.Operator.SetTenantLimitsAsync(limited.Tenant, new TenantLimitsRequest(0.001, Burst));
        service.Clock.Advance(TimeSpan.FromSeconds(10)); // gateways re-read a tenant's limits every 5 s of the service clock

        var attack = Enumerable.Range(0, Flood).Select(i => Request(limited, flood, $"f{i}")).ToList();
        var others = Enumerable.Range(0, Flood / 2).Select(_ => AttackHttp.SendAsync(service.Http, HttpMethod.Get, "v1/me", bystander.Key("m1"))).ToList();
        var answers = await Task.WhenAll(attack);
        var unaffected = await Task.WhenAll(others);

        var refused = answers.Where(a => a.Status == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(refused);
        Assert.All(refused, a =>
        {
            Assert.Equal(ProblemTypes.TooManyRequests, a.Type);
            Assert.True(int.TryParse(a.RetryAfter, out var seconds) && seconds >= 1, $"429 without a usable Retry-After: {a.RetryAfter}");
        });
        var accepted = answers.Select((a, i) => (Answer: a, Id: $"f{i}")).Where(a => a.Answer.Status != HttpStatusCode.TooManyRequests).ToList();
        Assert.All(accepted, a => Assert.True(a.Answer.Status is HttpStatusCode.OK or HttpStatusCode.Created, $"{flood} {a.Id}: {a.Answer}"));
        Assert.InRange(accepted.Count, 1, Burst);
        Assert.All(unaffected, a => Assert.Equal(HttpStatusCode.OK, a.Status));

        // Lift the limit again so the state can be read in full: exactly what the accepted requests created exists.
        await service.Operator.SetTenantLimitsAsync(limited.Tenant, new TenantLimitsRequest(100_000, 1_000_000));
        service.Clock.Advance(TimeSpan.FromSeconds(10));
        var created = accepted.Select(a => a.Id).ToHashSet();
        Assert.Equal(Expected(before, flood, created), await StateAsync(limited, flood == "upload payloads" ? [.. answers.Select((_, i) => $"f{i}")] : []));
    }

    private Task<Answer> Request(AttackTenant t, string flood, string id) => flood switch
    {
        "who am i" => AttackHttp.SendAsync(service.Http, HttpMethod.Get, "v1/me", t.Key("m1")),
        "read a session" => AttackHttp.SendAsync(service.Http, HttpMethod.Get, $"v1/tenants/{t.Tenant}/sessions/s", t.Key("m1")),
        "register pods" => AttackHttp.SendAsync(service.Http, HttpMethod.Post, $"v1/tenants/{t.Tenant}/pods", t.Key("admin"),
            JsonContent.Create(new RegisterPodRequest(id, "Flood " + id, Convert.ToBase64String(new byte[32])))),
        "create sessions" => AttackHttp.SendAsync(service.Http, HttpMethod.Post, $"v1/tenants/{t.Tenant}/sessions", t.Key("m1"),
            JsonContent.Create(new CreateSessionRequest(id, "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], AttackTenant.LongAggregation()))),
        _ => AttackHttp.SendAsync(service.Http, HttpMethod.Put, $"v1/tenants/{t.Tenant}/sessions/s/payloads/{id}", t.Key("m1"), AttackHttp.Bytes([1, 2, 3])),
    };

    /// <summary>The tenant's pods, p1's sessions, session "s" and (for <paramref name="payloads"/>) which of those payloads exist.</summary>
    private async Task<string> StateAsync(AttackTenant t, string[]? payloads = null)
    {
        var admin = t.Admin;
        var pods = await AttackHttp.SendAsync(service.Http, HttpMethod.Get, $"v1/tenants/{t.Tenant}/pods", t.Key("admin"));
        var sessions = await admin.ListPodSessionsAsync(t.Tenant, "p1");
        var s = await admin.GetSessionAsync(t.Tenant, "s");
        var stored = new List<string>();
        foreach (var name in payloads ?? [])
            if ((await AttackHttp.SendAsync(service.Http, HttpMethod.Get, $"v1/tenants/{t.Tenant}/sessions/s/payloads/{name}/manifest", t.Key("admin"))).Status == HttpStatusCode.OK)
                stored.Add(name);
        return $"pods {pods.Body}\nsessions [{string.Join(",", sessions.Order(StringComparer.Ordinal))}]\ns: v{s.Version} {s.Phase}\npayloads [{string.Join(",", stored.Order(StringComparer.Ordinal))}]";
    }

    /// <summary>The state before, plus exactly the pods, sessions or payloads the accepted requests created.</summary>
    private static string Expected(string before, string flood, HashSet<string> created)
    {
        var lines = before.Split('\n');
        var ordered = created.Order(StringComparer.Ordinal).ToList();
        return flood switch
        {
            "register pods" => string.Join('\n', lines.Select(l => l.StartsWith("pods ", StringComparison.Ordinal)
                ? "pods " + System.Text.Json.JsonSerializer.Serialize(System.Text.Json.JsonSerializer.Deserialize<List<string>>(l[5..])!.Concat(ordered).Order(StringComparer.Ordinal))
                : l)),
            "create sessions" => string.Join('\n', lines.Select(l => l.StartsWith("sessions ", StringComparison.Ordinal)
                ? $"sessions [{string.Join(",", ordered.Append("s").Order(StringComparer.Ordinal))}]"
                : l)),
            "upload payloads" => string.Join('\n', lines.Select(l => l.StartsWith("payloads ", StringComparison.Ordinal)
                ? $"payloads [{string.Join(",", ordered)}]"
                : l)),
            _ => before,
        };
    }
}
