using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Federated;
using Smpc.Protocols.Randomness;

namespace Smpc.Gateway.Tests.Attacks;

/// <summary>
/// A victim tenant with something behind every route, an attacker tenant that mirrors its ids, and a third tenant: built
/// once per service and shared by the route-table and id-guessing attacks (none of which may change it).
/// </summary>
/// <remarks>
/// Victim: modellers m1 (owns every session) and m2 (owns none); pods p1..p3 (in every session) and p4 (in none);
/// sessions "agg" (secure aggregation, key exchange, payload "input" stored), "psi" (ecdh, awaiting the pod) and "fed"
/// (federated query, running, member keys and sealed keys in, release "counts" stored); a spare pod key; revoked admin,
/// modeller and pod keys. Attacker: m1, p1..p3 and the same sessions, plus ids of its own only (<see cref="AttackerSession"/> …).
/// </remarks>
internal sealed class AttackWorld
{
    public const string Agg = "agg";
    public const string Psi = "psi";
    public const string Fed = "fed";
    public const string Input = "input";
    public const string Release = "counts";

    /// <summary>Ids that exist in the attacker's tenant only (its sessions "agg", "psi" and "fed" mirror the victim's).</summary>
    public const string AttackerSession = "a-only";
    public const string AttackerPod = "pa-only";
    public const string AttackerModeller = "ma-only";
    public const string AttackerInput = "a-input";
    public const string AttackerRelease = "a-counts";

    /// <summary>Ids a successful intrusion would create; each must still not exist afterwards.</summary>
    public const string IntruderSession = "s-intruder";
    public const string IntruderPod = "p-intruder";
    public const string IntruderModeller = "m-intruder";

    private static readonly ConditionalWeakTable<EmbeddedService, Task<AttackWorld>> Worlds = [];

    private AttackWorld(EmbeddedService service, AttackTenant victim, AttackTenant attacker, AttackTenant third)
    {
        Service = service;
        Victim = victim;
        Attacker = attacker;
        Third = third;
    }

    public EmbeddedService Service { get; }

    public AttackTenant Victim { get; }

    public AttackTenant Attacker { get; }

    public AttackTenant Third { get; }

    /// <summary>A tenant id no one has created; CreateTenant attempts use it.</summary>
    public string IntruderTenant { get; } = "t-intruder-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>A live key of the victim (p2's second key): what GetKey and RevokeKey name.</summary>
    public string SpareKeyId => Victim.KeyId("spare");

    public static Task<AttackWorld> GetAsync(EmbeddedService service) => Worlds.GetValue(service, s => BuildAsync(s));

    private static async Task<AttackWorld> BuildAsync(EmbeddedService service)
    {
        var victim = await AttackTenant.CreateAsync(service, ["m1", "m2"], ["p1", "p2", "p3", "p4"]);
        var attacker = await AttackTenant.CreateAsync(service, ["m1", AttackerModeller], ["p1", "p2", "p3", AttackerPod]);
        var third = await AttackTenant.CreateAsync(service, [], []);

        await SessionsAsync(victim, Input, Release);
        await SessionsAsync(attacker, AttackerInput, AttackerRelease);
        await attacker.Client("m1").CreateSessionAsync(attacker.Tenant,
            new CreateSessionRequest(AttackerSession, "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], AttackTenant.LongAggregation()));

        await victim.IssueAsync("p2", "spare");
        foreach (var (who, name) in new[] { ("admin", "revoked-admin"), ("m1", "revoked-m1"), ("p1", "revoked-p1") })
        {
            var issued = await victim.IssueAsync(who, name);
            await victim.Admin.RevokeKeyAsync(victim.Tenant, issued.KeyId);
        }

        return new AttackWorld(service, victim, attacker, third);
    }

    private static async Task SessionsAsync(AttackTenant t, string input, string release)
    {
        var m1 = t.Client("m1");
        string[] pods = ["p1", "p2", "p3"];
        await m1.CreateSessionAsync(t.Tenant, new CreateSessionRequest(Agg, "m1", SessionKinds.SecureAggregation, pods, AttackTenant.LongAggregation()));
        await m1.CreateSessionAsync(t.Tenant, new CreateSessionRequest(Psi, "m1", SessionKinds.Psi, ["p1"], Psi: AttackTenant.LongPsi(2)));
        await m1.CreateSessionAsync(t.Tenant, new CreateSessionRequest(Fed, "m1", SessionKinds.Query, pods, Query: AttackTenant.LongQuery()));
        await m1.UploadPayloadAsync(t.Tenant, Agg, input, new MemoryStream(Encoding.UTF8.GetBytes("an input of " + t.Tenant)));
        foreach (var pod in pods) await t.Client(pod).PutMemberKeyAsync(t.Tenant, Fed, pod, MemberKey(t, Fed, pod));
        await m1.PutSealedKeysAsync(t.Tenant, Fed, pods.ToDictionary(p => p, _ => new byte[FederatedChannel.SignedContentKeySize]));
        await m1.UploadReleaseAsync(t.Tenant, Fed, release, new byte[64]);
    }

    /// <summary>A member key of <paramref name="pod"/> for <paramref name="session"/>, signed with the pod's identity (or <paramref name="signer"/>'s, for <paramref name="signedTenant"/>).</summary>
    public static MemberKeyRequest MemberKey(AttackTenant t, string session, string pod, string? signedTenant = null, Ed25519KeyPair? signer = null)
    {
        using var member = X25519KeyPair.Generate(SystemRandomSource.Instance);
        var signature = FederatedChannel.SignMemberKey(signer ?? t.Identities[pod], signedTenant ?? t.Tenant, session, pod, member.PublicKey);
        return new MemberKeyRequest(Convert.ToBase64String(member.PublicKey), Convert.ToBase64String(signature));
    }

    /// <summary>
    /// Everything of the victim an attack could change, as text (so a difference shows as a diff): its sessions' version,
    /// phase and progress, its member lists, the stored payload and release, the spare key, and the ids an intrusion would create.
    /// </summary>
    public async Task<string> SnapshotAsync()
    {
        var admin = Victim.Admin;
        var t = Victim.Tenant;
        var sessions = Task.WhenAll(new[] { Agg, Psi, Fed }.Select(id => admin.GetSessionAsync(t, id)));
        var tenant = admin.GetTenantAsync(t);
        var pods = admin.ListPodSessionsAsync(t, "p1");
        var podList = AttackHttp.SendAsync(Service.Http, HttpMethod.Get, $"v1/tenants/{t}/pods", Victim.Key("admin"));
        var modellerList = AttackHttp.SendAsync(Service.Http, HttpMethod.Get, $"v1/tenants/{t}/modellers", Victim.Key("admin"));
        var manifest = admin.GetPayloadManifestAsync(t, Agg, Input);
        var release = Victim.Client("p1").DownloadReleaseAsync(t, Fed, Release);
        var spare = AttackHttp.SendAsync(Service.Http, HttpMethod.Get, $"v1/tenants/{t}/keys/{SpareKeyId}", Victim.Key("admin"));
        var intruder = AttackHttp.SendAsync(Service.Http, HttpMethod.Get, $"v1/tenants/{t}/sessions/{IntruderSession}", Victim.Key("admin"));
        await Task.WhenAll(sessions, tenant, pods, podList, modellerList, manifest, release, spare, intruder);

        var text = new StringBuilder();
        foreach (var s in sessions.Result)
        {
            text.Append($"session {s.Id}: v{s.Version} {s.Phase}");
            if (s.Aggregation is { } a) text.Append($" bundles [{string.Join(",", a.KeyBundles)}] shares [{string.Join(",", a.ShareSenders)}] masked [{string.Join(",", a.MaskedInputs)}]");
            if (s.Psi is { } p) text.Append($" accepted {p.Accepted} key {p.PublicKey} set {p.PodSetSize} query {p.QueryStored} reply {p.ReplyStored}");
            if (s.Federated is { } f)
                text.Append($" members [{string.Join(",", f.MemberKeys.Select(k => $"{k.Key}={k.Value.PublicKey}"))}] sealed [{string.Join(",", f.SealedKeys.Keys)}]" +
                    $" rounds {f.Rounds.Count} releases [{string.Join(",", f.Broadcasts)}] metrics {f.Metrics.Count} {f.FailureReason}");
            text.AppendLine();
        }

        var info = tenant.Result;
        text.AppendLine($"tenant {info.Id} '{info.DisplayName}' pods {info.PodCount} modellers {info.ModellerCount}");
        text.AppendLine($"pods {podList.Result.Body}");
        text.AppendLine($"modellers {modellerList.Result.Body}");
        text.AppendLine($"p1's sessions [{string.Join(",", pods.Result)}]");
        text.AppendLine($"payload {Input}: {manifest.Result.Length} bytes {manifest.Result.Sha256}");
        text.AppendLine($"release {Release}: {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(release.Result))}");
        text.AppendLine($"spare key: {(int)spare.Result.Status} revoked at {RevokedAt(spare.Result.Body)}");
        text.AppendLine($"intruder session: {(int)intruder.Result.Status}");
        return text.ToString();
    }

    private static string RevokedAt(string credentialJson)
    {
        using var json = System.Text.Json.JsonDocument.Parse(credentialJson);
        return json.RootElement.GetProperty("revokedAt").ToString();
    }

    /// <summary>The operator's view of whether the intruder tenant exists (the operator's own rate limit is small: call it only where CreateTenant is attacked).</summary>
    public async Task<HttpStatusCode> IntruderTenantStatusAsync() =>
        (await AttackHttp.SendAsync(Service.Http, HttpMethod.Get, $"v1/tenants/{IntruderTenant}", Service.OperatorKey)).Status;
}
