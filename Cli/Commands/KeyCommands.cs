using System.CommandLine;
using Smpc.Client;
using Smpc.Contracts;

namespace Smpc.Cli.Commands;

/// <summary><c>smpc key issue|revoke|rotate</c>: the tenant admin manages the API keys of its pods, modellers and admins.</summary>
public static class KeyCommands
{
    /// <summary>Builds the <c>key</c> command group.</summary>
    public static Command Build(Option<string> tenant, Func<ParseResult, Func<SmpcClient, Task>, Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var (pod, modeller, admin) = Subjects();
        var issue = new Command("issue", "Tenant admin: issues another API key for a pod, a modeller or an admin; prints it once.") { tenant, pod, modeller, admin };
        issue.SetAction((r, ct) => run(r, async c =>
            SmpcCommands.Print(await IssueAsync(c, r.GetValue(tenant)!, Subject(r, pod, modeller, admin), ct))));

        var keyId = new Argument<string>("key-id") { Description = "The key's id (16 hex digits, the keyId printed when it was issued)" };
        var after = new Option<int>("--after") { Description = "Revoke after this many seconds instead of at once (≤ 30 days: a rotation's overlap)", DefaultValueFactory = _ => 0 };
        CliOptions.Range(after, 0, 30 * 24 * 3600, "--after must be 0 to 2592000 seconds (30 days).");
        var revoke = new Command("revoke", "Tenant admin: revokes a key of the tenant on every gateway, at once or after --after seconds.") { keyId, tenant, after };
        revoke.SetAction((r, ct) => run(r, async c =>
        {
            var seconds = r.GetValue(after);
            SmpcCommands.Print(await c.RevokeKeyAsync(r.GetValue(tenant)!, RequireKeyId(r.GetValue(keyId)!), ct, seconds > 0 ? TimeSpan.FromSeconds(seconds) : null));
        }));

        var (rPod, rModeller, rAdmin) = Subjects();
        var old = new Option<string>("--old") { Description = "The key id to replace", Required = true };
        var overlap = new Option<int>("--overlap") { Description = "Seconds the old key keeps working after the new one is issued", DefaultValueFactory = _ => 3600 };
        CliOptions.Range(overlap, 0, 30 * 24 * 3600, "--overlap must be 0 to 2592000 seconds (30 days).");
        var rotate = new Command("rotate", "Tenant admin: issues a new key for the same pod, modeller or admin and revokes --old after --overlap seconds.")
        {
            tenant, rPod, rModeller, rAdmin, old, overlap,
        };
        rotate.SetAction((r, ct) => run(r, async c =>
        {
            var tenantId = r.GetValue(tenant)!;
            var subject = Subject(r, rPod, rModeller, rAdmin);
            var oldKey = await c.GetKeyAsync(tenantId, RequireKeyId(r.GetValue(old)!), ct);
            if (oldKey.Role != subject.Role || oldKey.Subject != subject.Id)
                throw CliException.Usage($"key {oldKey.KeyId} belongs to {oldKey.Role} {oldKey.Subject ?? tenantId}, not to {subject.Role} {subject.Id ?? tenantId}; rotate it with its own --pod, --modeller or --admin.");
            if (oldKey.RevokedAt is { } revokedAt && revokedAt <= DateTimeOffset.UtcNow)
                throw CliException.Usage($"key {oldKey.KeyId} is already revoked; issue a new key with `smpc key issue` instead.");
            var issued = await IssueAsync(c, tenantId, subject, ct);
            var revoked = await c.RevokeKeyAsync(tenantId, oldKey.KeyId, ct, TimeSpan.FromSeconds(r.GetValue(overlap)));
            SmpcCommands.Print(new { issued, oldKey = revoked });
        }));
        return new Command("key", "API keys of a tenant (tenant admin).") { issue, revoke, rotate };
    }

    private static (Option<string?> Pod, Option<string?> Modeller, Option<bool> Admin) Subjects() => (
        new Option<string?>("--pod") { Description = "The pod whose key it is" },
        new Option<string?>("--modeller") { Description = "The modeller whose key it is" },
        new Option<bool>("--admin") { Description = "A tenant admin key" });

    private sealed record KeySubject(string Role, string? Id);

    private static KeySubject Subject(ParseResult r, Option<string?> pod, Option<string?> modeller, Option<bool> admin)
    {
        var given = new List<KeySubject>();
        if (r.GetValue(pod) is { } p) given.Add(new("Pod", p));
        if (r.GetValue(modeller) is { } m) given.Add(new("Modeller", m));
        if (r.GetValue(admin)) given.Add(new("TenantAdmin", null));
        return given.Count == 1 ? given[0] : throw CliException.Usage("Give exactly one of --pod ID, --modeller ID or --admin.");
    }

    private static Task<IssuedKeyResponse> IssueAsync(SmpcClient c, string tenant, KeySubject subject, CancellationToken ct) => subject.Role switch
    {
        "Pod" => c.IssuePodKeyAsync(tenant, subject.Id!, ct),
        "Modeller" => c.IssueModellerKeyAsync(tenant, subject.Id!, ct),
        _ => c.IssueAdminKeyAsync(tenant, ct),
    };

    private static string RequireKeyId(string keyId) =>
        keyId.Length == 16 && keyId.All(char.IsAsciiHexDigitLower)
            ? keyId
            : throw CliException.Usage($"'{keyId}' is not a key id: a key id is 16 lower-case hex digits (the keyId printed when the key was issued), not the key itself.");
}
