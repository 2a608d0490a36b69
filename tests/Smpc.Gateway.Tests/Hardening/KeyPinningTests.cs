using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Smpc.Client.Identity;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Protocols;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Gateway.Tests.Hardening;

/// <summary>
/// Key pinning against a service gone bad: the test plays a service that substitutes a pod's session keys by rewriting the
/// stored key bundle in its own database. Pods that pinned their peers' identity fingerprints (configured, or on first use) detect it, and a registry rewritten
/// afterwards is refused by the pins.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class KeyPinningTests(EmbeddedService service)
{
    [Fact]
    public async Task AServiceThatSubstitutesAPodsSessionKey_IsDetectedByTheOtherPods()
    {
        var t = await Scenario.TenantAsync(service);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "pinned", "m1", ["p1", "p2", "p3"],
            new AggregationRequest([new AggregationFieldRequest("x", 3, -10, 10)], "sum", "", "x", PhaseTimeoutSeconds: 60));
        var parameters = AggregationSession.Parameters(modeller.Session);
        // Out of band, each pod's operator pinned the others' fingerprints in its agent configuration.
        var pins = new Dictionary<int, string> { [1] = t.Identities["p1"].Fingerprint, [2] = t.Identities["p2"].Fingerprint, [3] = t.Identities["p3"].Fingerprint };
        var parties = new[] { 1, 2, 3 }.ToDictionary(p => p, p => new SecureAggregationParty(parameters, p, t.Identities[$"p{p}"], SystemRandomSource.Instance, pins));
        var submitted = new Dictionary<int, byte[]>();
        foreach (var (p, party) in parties)
        {
            submitted[p] = party.CreateKeyBundle().ToBytes();
            await t.Pods[$"p{p}"].SubmitKeyBundleAsync(t.Tenant, "pinned", submitted[p]);
        }

        // The service swaps pod 2's bundle for one whose session keys it holds (signed by its own key: it has no other).
        using var attacker = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        using var impostor = new SecureAggregationParty(parameters, 2, attacker, SystemRandomSource.Instance, new Dictionary<int, string> { [1] = "x", [2] = attacker.Fingerprint, [3] = "x" });
        var substituted = impostor.CreateKeyBundle().ToBytes();
        await TamperAsync(EntityKey.Parse($"{t.Tenant}/pinned"), submitted[2], substituted);
        var served = await t.Pods["p1"].GetKeyBundlesAsync(t.Tenant, "pinned");
        Assert.Contains(served, b => b.AsSpan().SequenceEqual(substituted)); // the tampered state is what the service now serves

        // Pods 1 and 3 check every bundle against their pins before sealing shares to it: the substitution stops them.
        foreach (var p in new[] { 1, 3 })
        {
            var error = Assert.ThrowsAny<ProtocolException>(() => parties[p].CreateShareEnvelopes([.. served.Select(b => KeyBundle.Parse(b))]));
            Assert.Equal(ProtocolError.IdentityMismatch, error.Error);
            Assert.Contains("2", error.Message);
        }

        // Pod 1's store pinned every peer on first use, before the service went bad (with a notice for each).
        var notices = new List<string>();
        var store = new PinStore(null, notice: notices.Add);
        var firstUse = await AggregationSession.PinsAsync(t.Pods["p1"], modeller.Session, store, default, ("p1", t.Identities["p1"].Fingerprint));
        Assert.Equal(t.Identities["p2"].Fingerprint, firstUse[2]);
        Assert.Equal(2, notices.Count(n => n.StartsWith("FIRST USE: pinned pod", StringComparison.Ordinal))); // p2 and p3; p1 is itself

        // A thorough service also rewrites pod 2's registered identity. The registry only presents a fingerprint: the pin
        // taken on first use, and a configured pin, both refuse the new one.
        await TamperAsync(null, t.Identities["p2"].PublicKey, attacker.PublicKey, new EntityKey(t.Tenant, "p2"));
        var changed = await Assert.ThrowsAsync<PinMismatchException>(() => AggregationSession.PinsAsync(t.Pods["p1"], modeller.Session, store, default));
        Assert.Equal(("p2", t.Identities["p2"].Fingerprint, attacker.Fingerprint), (changed.Id, changed.Pinned, changed.Presented));
        var configured = new PinStore(null, [new Pin(t.Tenant, PinKinds.Pod, "p2", t.Identities["p2"].Fingerprint, PinSources.Configured, default)]);
        await Assert.ThrowsAsync<PinMismatchException>(() => AggregationSession.PinsAsync(t.Pods["p1"], modeller.Session, configured, default));

        // Only a party meeting pod 2 for the very first time now is fooled: what trust on first use cannot prevent (docs/security.md).
        var fresh = await AggregationSession.PinsAsync(t.Pods["p1"], modeller.Session, new PinStore(null, notice: _ => { }), default);
        Assert.Equal(attacker.Fingerprint, fresh[2]);

        foreach (var party in parties.Values) party.Dispose();
    }

    /// <summary>Rewrites stored bytes in a grain's row (as an operator with database access could), then reloads that session or pod grain.</summary>
    private async Task TamperAsync(EntityKey? session, byte[] original, byte[] replacement, EntityKey? pod = null)
    {
        var (from, to) = (Convert.ToBase64String(original), Convert.ToBase64String(replacement));
        using (var connection = new SqliteConnection($"Data Source={service.DatabasePath};Pooling=False"))
        {
            connection.Open();
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT rowid, PayloadBinary FROM OrleansStorage WHERE PayloadBinary IS NOT NULL";
            var rows = new List<(long RowId, JsonNode Json)>();
            using (var reader = read.ExecuteReader())
                while (reader.Read())
                    if (JsonNode.Parse((byte[])reader[1]) is { } json && Replace(json, from, to)) rows.Add((reader.GetInt64(0), json));
            var row = Assert.Single(rows);
            using var write = connection.CreateCommand();
            write.CommandText = "UPDATE OrleansStorage SET PayloadBinary = $payload WHERE rowid = $row";
            write.Parameters.AddWithValue("$payload", Encoding.UTF8.GetBytes(row.Json.ToJsonString()));
            write.Parameters.AddWithValue("$row", row.RowId);
            Assert.Equal(1, write.ExecuteNonQuery());
        }

        IGrain grain = session is { } s ? service.Grains.GetSecureAggregationSession(s) : service.Grains.GetPod(pod!.Value); // the kind's grain holds the state
        await grain.Cast<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();
    }

    /// <summary>Replaces every string value <paramref name="from"/> in the tree; true if any was found.</summary>
    private static bool Replace(JsonNode node, string from, string to)
    {
        var found = false;
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, child) in o.ToList())
                {
                    if (child is JsonValue v && v.TryGetValue<string>(out var text) && text == from) (o[name], found) = (to, true);
                    else if (child is not null) found |= Replace(child, from, to);
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    if (a[i] is JsonValue v && v.TryGetValue<string>(out var text) && text == from) (a[i], found) = (to, true);
                    else if (a[i] is { } child) found |= Replace(child, from, to);
                }

                break;
        }

        return found;
    }
}
