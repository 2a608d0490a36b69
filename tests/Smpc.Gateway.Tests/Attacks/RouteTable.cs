using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Smpc.Contracts;
using Smpc.TestSupport;

namespace Smpc.Gateway.Tests.Attacks;

/// <summary>Who may call a route at all.</summary>
internal enum Access
{
    /// <summary>No credential needed (health).</summary>
    Public,

    /// <summary>Any valid credential, about itself (who am I).</summary>
    Self,

    /// <summary>Inside one tenant, by role.</summary>
    Tenant,
}

/// <summary>
/// One route and what each caller gets from it, as the gateway and grains define it. <see cref="Insiders"/> has one
/// character per <see cref="RouteTable.Insiders"/> caller, <see cref="Foreign"/> one per <see cref="RouteTable.Foreigners"/>:
/// '+' the caller may (not attacked), 'F' 403 forbidden, 'N' 404 not-found.
/// </summary>
internal sealed record RouteRule(string Method, string Template, Access Access, string Insiders, string Foreign, Func<AttackWorld, HttpContent?>? Body = null)
{
    public string Key => $"{Method} {Template}";
}

/// <summary>
/// Every route of the committed OpenAPI document, classified. A route the document has and this table lacks fails the
/// route-table attacks, so a new route is attacked from the day it is added.
/// </summary>
internal static class RouteTable
{
    /// <summary>The victim's own callers: its admin, m1 (owns the sessions), p1 (in them), m2 and p4 (in none), and the operator.</summary>
    public static readonly string[] Insiders = ["admin", "m1", "p1", "m2", "p4", "operator"];

    /// <summary>The attacker tenant's admin, m1 and p1: the same ids, another tenant.</summary>
    public static readonly string[] Foreigners = ["admin", "m1", "p1"];

    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

    /// <summary>Every (method, path template) of ApiGateway/openapi/v1.json, with the media type of its request body (null: none).</summary>
    private static readonly List<(string Method, string Template, string? BodyType)> Operations = Load();

    /// <summary>Every (method, path template) of ApiGateway/openapi/v1.json.</summary>
    public static IReadOnlyList<(string Method, string Template)> Documented { get; } = [.. Operations.Select(o => (o.Method, o.Template))];

    /// <summary>The documented routes whose request body has this media type.</summary>
    public static IEnumerable<(string Method, string Template)> WithBody(string mediaType) =>
        Operations.Where(o => o.BodyType == mediaType).Select(o => (o.Method, o.Template));

    public static IReadOnlyDictionary<string, RouteRule> Rules { get; } = Build().ToDictionary(r => r.Key);

    private static List<(string, string, string?)> Load()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "ApiGateway", "openapi", "v1.json")));
        var routes = new List<(string, string, string?)>();
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => Methods.Contains(o.Name)))
            {
                string? bodyType = null;
                if (operation.Value.TryGetProperty("requestBody", out var body) && body.TryGetProperty("content", out var content))
                    bodyType = content.EnumerateObject().Select(c => c.Name).FirstOrDefault();
                routes.Add((operation.Name.ToUpperInvariant(), path.Name, bodyType));
            }
        }

        return routes;
    }

    private static JsonContent Json(object body) => JsonContent.Create(body, body.GetType());

    private static ByteArrayContent Octets(int length) => AttackHttp.Bytes(new byte[length]);

    private static string B64(int length) => Convert.ToBase64String(new byte[length]);

    private static IEnumerable<RouteRule> Build()
    {
        const string T = "/v1/tenants/{tenantId}";
        const string S = T + "/sessions/{sessionId}";
        //                                                                             A M P m p O   fA fM fP
        yield return new("GET", "/health/live", Access.Public, "", "");
        yield return new("GET", "/health/ready", Access.Public, "", "");
        yield return new("GET", "/v1/me", Access.Self, "", "");

        yield return new("GET", T + "/keys/{keyId}", Access.Tenant, "+FFFFN", "NNN");
        yield return new("DELETE", T + "/keys/{keyId}", Access.Tenant, "+FFFFN", "NNN");

        // Operator only: the role is checked before anything else, so every other caller is forbidden, whatever the tenant.
        yield return new("POST", "/v1/tenants", Access.Tenant, "FFFFF+", "FFF", w => Json(new CreateTenantRequest(w.IntruderTenant, "Intruder")));
        yield return new("GET", T, Access.Tenant, "++++++", "NNN");
        yield return new("POST", T + "/admin-keys", Access.Tenant, "+FFFF+", "NNN");
        yield return new("GET", T + "/admin-keys", Access.Tenant, "+FFFFN", "NNN");
        // Usage: the tenant admin and the operator.
        yield return new("GET", T + "/usage", Access.Tenant, "+FFFF+", "NNN");
        yield return new("PUT", T + "/limits", Access.Tenant, "FFFFF+", "NNN", _ => Json(new TenantLimitsRequest(50_000, 500_000)));

        // Audit log: the admin's; a pod reads the entries about itself.
        yield return new("GET", T + "/audit", Access.Tenant, "+FFFFN", "NNN");
        yield return new("GET", T + "/audit/export", Access.Tenant, "+FFFFN", "NNN");
        yield return new("GET", T + "/pods/{podId}/audit", Access.Tenant, "+F+FFN", "NNN");

        yield return new("POST", T + "/pods", Access.Tenant, "+FFFFN", "NNN",
            _ => Json(new RegisterPodRequest(AttackWorld.IntruderPod, "Intruder", B64(32))));
        yield return new("GET", T + "/pods", Access.Tenant, "+++++N", "NNN");
        yield return new("GET", T + "/pods/{podId}", Access.Tenant, "+++++N", "NNN");
        yield return new("GET", T + "/pods/{podId}/sessions", Access.Tenant, "+F+FFN", "NNN");
        yield return new("POST", T + "/pods/{podId}/keys", Access.Tenant, "+FFFFN", "NNN");
        yield return new("GET", T + "/pods/{podId}/keys", Access.Tenant, "+FFFFN", "NNN");
        yield return new("POST", T + "/modellers", Access.Tenant, "+FFFFN", "NNN", _ => Json(new RegisterModellerRequest(AttackWorld.IntruderModeller, "Intruder")));
        yield return new("GET", T + "/modellers", Access.Tenant, "+++++N", "NNN");
        yield return new("GET", T + "/modellers/{modellerId}", Access.Tenant, "+++++N", "NNN");
        yield return new("POST", T + "/modellers/{modellerId}/keys", Access.Tenant, "+FFFFN", "NNN");
        yield return new("GET", T + "/modellers/{modellerId}/keys", Access.Tenant, "+FFFFN", "NNN");

        // Sessions: m2 names m1 as the modeller, which only m1 may.
        yield return new("POST", T + "/sessions", Access.Tenant, "F+FFFN", "NNN", _ => Json(new CreateSessionRequest(
            AttackWorld.IntruderSession, "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], AttackTenant.LongAggregation())));
        // Listing: everyone inside the tenant gets the sessions it may see (m2 and p4 an empty list); the operator sees no tenant's.
        yield return new("GET", T + "/sessions", Access.Tenant, "+++++N", "NNN");
        yield return new("GET", S, Access.Tenant, "+++NNN", "NNN");
        // Cancel: its modeller and the admin; its pods are forbidden; whoever does not see the session does not find it.
        yield return new("POST", S + "/cancel", Access.Tenant, "++FNNN", "NNN", _ => Json(new CancelSessionRequest("intruder")));

        // Secure aggregation ("agg"): pod steps, modeller steps, and reads only its pods and modeller make (the admin gets 404).
        yield return new("POST", S + "/secagg/key-bundle", Access.Tenant, "FF+NNN", "NNN", _ => Json(new ProtocolMessage("AQID")));
        yield return new("GET", S + "/secagg/key-bundles", Access.Tenant, "N++NNN", "NNN");
        yield return new("POST", S + "/secagg/share-envelopes", Access.Tenant, "FF+NNN", "NNN", _ => Json(new ProtocolMessages(["AQID"])));
        yield return new("GET", S + "/secagg/share-envelopes", Access.Tenant, "FF+NNN", "NNN");
        yield return new("PUT", S + "/secagg/masked-input", Access.Tenant, "FF+NNN", "NNN", _ => Octets(24));
        yield return new("POST", S + "/secagg/decline", Access.Tenant, "FF+NNN", "NNN", _ => Json(new DeclineAggregationRequest("policy")));
        yield return new("GET", S + "/secagg/unmask-request", Access.Tenant, "N++NNN", "NNN");
        yield return new("POST", S + "/secagg/unmask-response", Access.Tenant, "FF+NNN", "NNN", _ => Json(new ProtocolMessage("AQID")));
        yield return new("GET", S + "/secagg/material", Access.Tenant, "F+FNNN", "NNN");
        yield return new("GET", S + "/secagg/masked-sum", Access.Tenant, "F+FNNN", "NNN");
        yield return new("POST", S + "/secagg/complete", Access.Tenant, "F+FNNN", "NNN", _ => Json(new CompleteAggregationRequest([1, 2, 3])));

        // PSI ("psi", payload "query": the modeller uploads it, the pod downloads it).
        yield return new("POST", S + "/psi/accept", Access.Tenant, "FF+NNN", "NNN", _ => Json(new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1)));
        yield return new("POST", S + "/psi/decline", Access.Tenant, "FF+NNN", "NNN", _ => Json(new PsiDeclineRequest("intruder")));
        yield return new("PUT", S + "/psi/{payload}", Access.Tenant, "F+FNNN", "NNN", _ => Octets(64));
        yield return new("GET", S + "/psi/{payload}", Access.Tenant, "FF+NNN", "NNN");
        yield return new("POST", S + "/psi/count", Access.Tenant, "FF+NNN", "NNN", _ => Json(new PsiCountRequest(1)));
        yield return new("POST", S + "/psi/complete", Access.Tenant, "F+FNNN", "NNN", _ => Json(new PsiCountRequest(null)));

        // Federated ("fed"). The gateway refuses a member key for a pod other than the caller once the caller is inside the
        // tenant (admins, modellers, another pod: forbidden); the operator and other tenants' callers do not find the session.
        yield return new("PUT", S + "/federated/member-keys/{podId}", Access.Tenant, "FF+FFN", "NNN", _ => Json(new MemberKeyRequest(B64(32), B64(64))));
        yield return new("PUT", S + "/federated/sealed-keys", Access.Tenant, "F+FNNN", "NNN",
            _ => Json(new SealedKeysRequest(new Dictionary<string, string> { ["p1"] = B64(80), ["p2"] = B64(80), ["p3"] = B64(80) })));
        yield return new("PUT", S + "/federated/releases/{name}", Access.Tenant, "F+FNNN", "NNN", _ => Octets(64));
        yield return new("GET", S + "/federated/releases/{name}", Access.Tenant, "N++NNN", "NNN");
        yield return new("POST", S + "/federated/decline", Access.Tenant, "FF+NNN", "NNN", _ => Json(new DeclineRequest("intruder")));
        yield return new("POST", S + "/federated/metrics", Access.Tenant, "F+FNNN", "NNN",
            _ => Json(new RoundMetricsRequest("counts", new Dictionary<string, double> { ["loss"] = 1 })));
        yield return new("POST", S + "/federated/finish", Access.Tenant, "F+FNNN", "NNN", _ => Json(new FinishFederatedRequest()));

        // Generic payloads ("agg", "input"): anyone who sees the session; no role within it.
        yield return new("PUT", S + "/payloads/{name}", Access.Tenant, "+++NNN", "NNN", _ => Octets(16));
        yield return new("GET", S + "/payloads/{name}", Access.Tenant, "+++NNN", "NNN");
        yield return new("GET", S + "/payloads/{name}/manifest", Access.Tenant, "+++NNN", "NNN");

        // Webhooks: the tenant admin's only (roles are checked before the endpoint is looked up).
        yield return new("POST", T + "/webhooks", Access.Tenant, "+FFFFN", "NNN", _ => Json(new CreateWebhookRequest("https://example.com/hook")));
        yield return new("GET", T + "/webhooks", Access.Tenant, "+FFFFN", "NNN");
        yield return new("GET", T + "/webhooks/{webhookId}", Access.Tenant, "+FFFFN", "NNN");
        yield return new("DELETE", T + "/webhooks/{webhookId}", Access.Tenant, "+FFFFN", "NNN");
        yield return new("GET", T + "/webhooks/{webhookId}/deliveries", Access.Tenant, "+FFFFN", "NNN");
        yield return new("POST", T + "/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver", Access.Tenant, "+FFFFN", "NNN");

        // Resumable uploads ("agg", payload "resumable", whose upload is completed): the same access as the payload PUT.
        yield return new("POST", S + "/payloads/{name}/uploads", Access.Tenant, "+++NNN", "NNN");
        yield return new("GET", S + "/payloads/{name}/uploads/{uploadId}", Access.Tenant, "+++NNN", "NNN");
        yield return new("PUT", S + "/payloads/{name}/uploads/{uploadId}/chunks/{index}", Access.Tenant, "+++NNN", "NNN", _ => Octets(16));
        yield return new("POST", S + "/payloads/{name}/uploads/{uploadId}/complete", Access.Tenant, "+++NNN", "NNN",
            _ => Json(new CompleteUploadRequest(16, new string('0', 64))));
    }

    /// <summary>The payload of the victim's "agg" session the upload routes name: stored by a resumable upload of m1's.</summary>
    public const string ResumablePayload = "resumable";

    private static readonly ConditionalWeakTable<AttackWorld, Task<Guid>> ResumableUploads = [];

    /// <summary>The (completed) resumable upload the upload routes name, made once per world on first use.</summary>
    public static Task<Guid> ResumableUploadAsync(AttackWorld world) => ResumableUploads.GetValue(world, CreateResumableUploadAsync);

    private static async Task<Guid> CreateResumableUploadAsync(AttackWorld world)
    {
        var m1 = world.Victim.Client("m1");
        var t = world.Victim.Tenant;
        byte[] bytes = [.. System.Text.Encoding.UTF8.GetBytes("a resumable upload of " + t)];
        var upload = await m1.BeginResumableUploadAsync(t, AttackWorld.Agg, ResumablePayload);
        await m1.PutUploadChunkAsync(t, AttackWorld.Agg, ResumablePayload, upload.UploadId, 0, bytes);
        await m1.CompleteResumableUploadAsync(t, AttackWorld.Agg, ResumablePayload, upload.UploadId, bytes.Length,
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
        return upload.UploadId;
    }

    /// <summary>The id of the world's resumable upload once it is made (<see cref="SendAsync"/> makes it); a random one before, for requests refused before any lookup.</summary>
    private static string UploadIdOf(AttackWorld world) =>
        (ResumableUploads.TryGetValue(world, out var upload) && upload.IsCompletedSuccessfully ? upload.Result : Guid.NewGuid()).ToString("D");

    private static readonly ConditionalWeakTable<AttackWorld, Task<string>> Webhooks = [];

    /// <summary>The victim's webhook endpoint the webhook routes name, registered once per world on first use (to a closed loopback port).</summary>
    public static Task<string> WebhookAsync(AttackWorld world) => Webhooks.GetValue(world, async w =>
    {
        var created = await AttackHttp.SendAsync(w.Service.Http, HttpMethod.Post, $"v1/tenants/{w.Victim.Tenant}/webhooks", w.Victim.Key("admin"),
            Json(new CreateWebhookRequest("https://127.0.0.1:9/hook", [WebhookEventTypes.KeyRevoked])));
        return System.Text.Json.JsonDocument.Parse(created.Body).RootElement.GetProperty("id").GetString()!;
    });

    private static string WebhookIdOf(AttackWorld world) =>
        Webhooks.TryGetValue(world, out var webhook) && webhook.IsCompletedSuccessfully ? webhook.Result : "wh_none";

    /// <summary>The rule of a documented route; a route the table does not classify fails the test that asks.</summary>
    public static RouteRule Rule(string method, string template) =>
        Rules.TryGetValue($"{method} {template}", out var rule) ? rule
            : throw new Xunit.Sdk.XunitException($"{method} {template} is in ApiGateway/openapi/v1.json but not classified: add it to Attacks/RouteTable.cs.");

    /// <summary>The route with its path parameters filled with the victim's real ids.</summary>
    public static string Fill(AttackWorld world, string template) => template
        .Replace("{tenantId}", world.Victim.Tenant, StringComparison.Ordinal)
        .Replace("{keyId}", world.SpareKeyId, StringComparison.Ordinal)
        .Replace("{modellerId}", "m1", StringComparison.Ordinal)
        .Replace("{podId}", "p1", StringComparison.Ordinal)
        .Replace("{sessionId}", template.Contains("/psi/", StringComparison.Ordinal) ? AttackWorld.Psi
            : template.Contains("/federated/", StringComparison.Ordinal) ? AttackWorld.Fed : AttackWorld.Agg, StringComparison.Ordinal)
        .Replace("{payload}", PsiPayloads.Query, StringComparison.Ordinal)
        .Replace("{uploadId}", UploadIdOf(world), StringComparison.Ordinal)
        .Replace("{index}", "0", StringComparison.Ordinal)
        .Replace("{webhookId}", WebhookIdOf(world), StringComparison.Ordinal)
        .Replace("{deliveryId}", "msg_attacked", StringComparison.Ordinal)
        .Replace("{name}", template.Contains("/releases/", StringComparison.Ordinal) ? AttackWorld.Release
            : template.Contains("/uploads", StringComparison.Ordinal) ? ResumablePayload : AttackWorld.Input, StringComparison.Ordinal);

    /// <summary>The status and problem type a table character stands for; null for '+'.</summary>
    public static (HttpStatusCode Status, string Type)? Outcome(char code) => code switch
    {
        '+' => null,
        'F' => (HttpStatusCode.Forbidden, ProblemTypes.Forbidden),
        'N' => (HttpStatusCode.NotFound, ProblemTypes.NotFound),
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Use '+', 'F' or 'N'."),
    };

    /// <summary>The first insider the table lets through (the credential a request would be legitimate with).</summary>
    public static string AllowedInsider(RouteRule rule) => rule.Access == Access.Tenant ? Insiders[rule.Insiders.IndexOf('+')] : "admin";

    /// <summary>The raw key of an insider of the victim (or the operator).</summary>
    public static string InsiderKey(AttackWorld world, string who) => who == "operator" ? world.Service.OperatorKey : world.Victim.Key(who);

    public static async Task<Answer> SendAsync(AttackWorld world, RouteRule rule, string? key, Func<AttackWorld, HttpContent?>? body = null)
    {
        if (rule.Template.Contains("{uploadId}", StringComparison.Ordinal)) await ResumableUploadAsync(world);
        if (rule.Template.Contains("{webhookId}", StringComparison.Ordinal)) await WebhookAsync(world);
        return await AttackHttp.SendAsync(world.Service.Http, new HttpMethod(rule.Method), Fill(world, rule.Template), key, (body ?? rule.Body)?.Invoke(world));
    }
}
