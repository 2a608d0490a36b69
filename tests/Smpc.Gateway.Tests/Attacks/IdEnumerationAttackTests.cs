using System.Net;
using System.Net.Http.Json;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests.Attacks;

/// <summary>
/// Guessed and enumerated ids: an outsider who names one of the victim's real ids gets exactly the answer it gets for an
/// id that exists only in its own (or a third) tenant, a random one, a sequential-looking one, a neighbour of a real one,
/// or a malformed one. Status, problem type and title are identical (and, for well-formed ids, the detail once the id is
/// masked), so no answer tells an existing id from a missing one; and nothing of the victim changes.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class IdEnumerationAttackTests(EmbeddedService service)
{
    private enum IdKind
    {
        Session,
        Pod,
        Modeller,
        Key,
        Payload,
        Release,
        Tenant,
    }

    /// <summary>
    /// A route that takes a guessed id. <see cref="NonMembers"/>: the victim's own m2 and p4, who are in no session, are
    /// attacked too (for pods, modellers, keys and tenants insiders may legitimately learn what exists).
    /// </summary>
    private sealed record Family(string Method, IdKind Kind, Func<AttackWorld, string, string> Path, bool NonMembers, Func<HttpContent?>? Body = null);

    private static readonly Dictionary<string, Family> Families = new()
    {
        ["get session"] = new("GET", IdKind.Session, (w, id) => $"{T(w)}/sessions/{id}", true),
        ["get key bundles"] = new("GET", IdKind.Session, (w, id) => $"{T(w)}/sessions/{id}/secagg/key-bundles", true),
        ["accept psi"] = new("POST", IdKind.Session, (w, id) => $"{T(w)}/sessions/{id}/psi/accept", true, () => JsonContent.Create(new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1))),
        ["upload payload"] = new("PUT", IdKind.Session, (w, id) => $"{T(w)}/sessions/{id}/payloads/probe", true, () => AttackHttp.Bytes([1, 2, 3])),
        ["get pod"] = new("GET", IdKind.Pod, (w, id) => $"{T(w)}/pods/{id}", false),
        ["list pod sessions"] = new("GET", IdKind.Pod, (w, id) => $"{T(w)}/pods/{id}/sessions", false),
        ["issue pod key"] = new("POST", IdKind.Pod, (w, id) => $"{T(w)}/pods/{id}/keys", false),
        ["get modeller"] = new("GET", IdKind.Modeller, (w, id) => $"{T(w)}/modellers/{id}", false),
        ["get key"] = new("GET", IdKind.Key, (w, id) => $"{T(w)}/keys/{id}", false),
        ["revoke key"] = new("DELETE", IdKind.Key, (w, id) => $"{T(w)}/keys/{id}", false),
        ["download payload"] = new("GET", IdKind.Payload, (w, id) => $"{T(w)}/sessions/{AttackWorld.Agg}/payloads/{id}", true),
        ["get payload manifest"] = new("GET", IdKind.Payload, (w, id) => $"{T(w)}/sessions/{AttackWorld.Agg}/payloads/{id}/manifest", true),
        ["download release"] = new("GET", IdKind.Release, (w, id) => $"{T(w)}/sessions/{AttackWorld.Fed}/federated/releases/{id}", true),
        ["get tenant"] = new("GET", IdKind.Tenant, (_, id) => $"v1/tenants/{id}", false),
        ["list tenant pods"] = new("GET", IdKind.Tenant, (_, id) => $"v1/tenants/{id}/pods", false),
        ["issue admin key"] = new("POST", IdKind.Tenant, (_, id) => $"v1/tenants/{id}/admin-keys", false),
    };

    private static readonly string[] Guesses = ["exists elsewhere", "random", "sequential 1", "sequential 2", "neighbour", "malformed", "too long"];

    public static TheoryData<string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var family in Families.Keys)
                foreach (var guess in Guesses)
                    data.Add(family, guess);
            return data;
        }
    }

    private static string T(AttackWorld w) => $"v1/tenants/{w.Victim.Tenant}";

    /// <summary>The victim's real id of this kind.</summary>
    private static string Real(AttackWorld w, IdKind kind) => kind switch
    {
        IdKind.Session => AttackWorld.Agg,
        IdKind.Pod => "p1",
        IdKind.Modeller => "m1",
        IdKind.Key => w.SpareKeyId,
        IdKind.Payload => AttackWorld.Input,
        IdKind.Release => AttackWorld.Release,
        _ => w.Victim.Tenant,
    };

    private static string Guess(AttackWorld w, IdKind kind, string guess)
    {
        var real = Real(w, kind);
        var random = Guid.NewGuid().ToString("N");
        return (guess, kind) switch
        {
            // Keys are global (one grain per key id); ids of the attacker's own keys are the subject of the skipped test below.
            ("exists elsewhere", IdKind.Key) => w.Third.KeyId("admin"),
            ("exists elsewhere", IdKind.Tenant) => w.Third.Tenant,
            ("exists elsewhere", IdKind.Session) => AttackWorld.AttackerSession,
            ("exists elsewhere", IdKind.Pod) => AttackWorld.AttackerPod,
            ("exists elsewhere", IdKind.Modeller) => AttackWorld.AttackerModeller,
            ("exists elsewhere", IdKind.Payload) => AttackWorld.AttackerInput,
            ("exists elsewhere", _) => AttackWorld.AttackerRelease,
            ("random", IdKind.Key) => random[..16],
            ("random", _) => "x-" + random[..12],
            ("sequential 1", IdKind.Key) => "0000000000000001",
            ("sequential 2", IdKind.Key) => "0123456789abcdef",
            ("sequential 1", IdKind.Tenant) => "t-0000000001",
            ("sequential 1", _) => kind.ToString().ToLowerInvariant()[..1] + "0",
            ("sequential 2", _) => kind.ToString().ToLowerInvariant() + "-0002",
            ("neighbour", _) => real[..^1] + Next(real[^1]),
            ("malformed", IdKind.Key) => "Z" + real[1..],
            ("malformed", _) => real.ToUpperInvariant(),
            ("too long", IdKind.Key) => real + "0",
            ("too long", _) => real + new string('x', 64),
            _ => throw new ArgumentOutOfRangeException(nameof(guess), guess, null),
        };

        static char Next(char c) => c switch { '9' => '0', 'f' => '0', >= '0' and < '9' => (char)(c + 1), >= 'a' and < 'f' => (char)(c + 1), _ => 'a' };
    }

    private async Task<Answer> SendAsync(AttackWorld world, Family family, string id, string key) =>
        await AttackHttp.SendAsync(service.Http, new HttpMethod(family.Method), family.Path(world, id), key, family.Body?.Invoke());

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AGuessedId_IsAnsweredExactlyLikeTheVictimsRealOne(string family, string guess)
    {
        var world = await AttackWorld.GetAsync(service);
        var f = Families[family];
        var real = Real(world, f.Kind);
        var guessed = Guess(world, f.Kind, guess);
        Assert.NotEqual(real, guessed);
        var attackers = RouteTable.Foreigners.Select(who => ($"the other tenant's {who}", world.Attacker.Key(who))).ToList();
        if (f.NonMembers) attackers.AddRange(new[] { "m2", "p4" }.Select(who => ($"the victim's {who} (in no session)", world.Victim.Key(who))));
        var before = await world.SnapshotAsync();

        foreach (var (who, key) in attackers)
        {
            var forReal = await SendAsync(world, f, real, key);
            var forGuess = await SendAsync(world, f, guessed, key);

            Expect.Problem(HttpStatusCode.NotFound, ProblemTypes.NotFound, forReal, $"{family} '{real}' by {who}");
            Assert.True(forReal.Shape == forGuess.Shape, $"{family} by {who}: '{real}' gave {forReal}, '{guessed}' ({guess}) gave {forGuess}");
            if (guess is not ("malformed" or "too long"))
                Assert.Equal(Masked(forReal.Detail, real), Masked(forGuess.Detail, guessed));
        }

        Assert.Equal(before, await world.SnapshotAsync());
    }

    private static string? Masked(string? detail, string id) => detail?.Replace($"'{id}'", "'{id}'", StringComparison.Ordinal);

    /// <summary>
    /// The key routes answer only for keys of the tenant the path names: the attacker's admin asking for GET or DELETE
    /// /v1/tenants/{victim}/keys/{a key id of its own tenant} gets 404 like any other foreign resource (it got 200, and the
    /// DELETE revoked its own key, before KeysApi checked the key's tenant against the path's).
    /// </summary>
    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task AKeyOfTheAttackersOwnTenant_UnderTheVictimsPath_IsNotFound(string method)
    {
        var world = await AttackWorld.GetAsync(service);
        var own = await world.Attacker.IssueAsync("p1", $"own-{method}");
        var before = await world.SnapshotAsync();

        var answer = await AttackHttp.SendAsync(service.Http, new HttpMethod(method), $"{T(world)}/keys/{own.KeyId}", world.Attacker.Key("admin"));

        Expect.Problem(HttpStatusCode.NotFound, ProblemTypes.NotFound, answer, $"{method} the attacker's own key under the victim's tenant");
        Assert.Equal(before, await world.SnapshotAsync());
    }
}
