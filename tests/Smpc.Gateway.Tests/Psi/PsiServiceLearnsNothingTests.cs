using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Smpc.Agent.Psi;
using Smpc.Client.Psi;
using Smpc.Contracts;
using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Gateway.Tests.Psi;

/// <summary>
/// After whole PSI runs (ecdh and rsa-blind intersection, ecdh cardinality counted by the pod), the service's database holds
/// no record of either side: not as text, not canonically encoded, not hashed to the group; and no set at all once the session
/// ended. Its spans and logs hold no record value either, and every party's steps join the session's trace.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class PsiServiceLearnsNothingTests(EmbeddedService service)
{
    private static readonly (string Id, string Protocol, string Mode, long MinCount)[] Runs =
    [
        ("ln-ecdh", PsiProtocolNames.Ecdh, PsiModeNames.Intersection, 0),
        ("ln-rsa", PsiProtocolNames.RsaBlind, PsiModeNames.Intersection, 0),
        ("ln-count", PsiProtocolNames.Ecdh, PsiModeNames.Cardinality, 2),
    ];

    private sealed record Done(TenantClients T, Dictionary<string, SessionResponse> Sessions);

    private async Task<Done> RunAllAsync()
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var sessions = new Dictionary<string, SessionResponse>();
        foreach (var (id, protocol, mode, minCount) in Runs)
        {
            var (outcome, failure, _) = await scenario.RunAsync(t, PsiScenario.Spec(protocol, mode), new PsiPolicy { MinCount = minCount }, id);
            Assert.Null(failure);
            Assert.Equal(mode == PsiModeNames.Cardinality ? 4 : 5, outcome!.Count); // the runs did find the intersection (ecdh cardinality: distinct records)
            Assert.Equal(SessionPhases.Completed, outcome.Session.Phase);
            Assert.Equal(minCount > 0, outcome.Session.Psi!.CountedByPod);
            Assert.Null(outcome.Session.Psi.PodCount); // a pod-counted count reaches the service only sealed to the modeller
            sessions[id] = outcome.Session;
        }

        return new Done(t, sessions);
    }

    /// <summary>The key columns of both CSVs: names, emails, phones as written.</summary>
    private static IEnumerable<string> RawValues() =>
        PsiScenario.ModellerRows.SelectMany(r => r[1..4]).Concat(PsiScenario.PodRows.SelectMany(r => r[1..4])).OfType<string>().Distinct();

    /// <summary>Each side's records as the shared encoder writes them, with the canonical text of every column.</summary>
    private static IEnumerable<(string? Canonical, byte[] Encoded)> Encoded()
    {
        var sides = new[]
        {
            (Rows: PsiScenario.ModellerRows, Columns: PsiScenario.ModellerColumns, Header: PsiScenario.ModellerHeader),
            (Rows: PsiScenario.PodRows, Columns: PsiScenario.PodColumns, Header: PsiScenario.PodHeader),
        };
        foreach (var (rows, columns, header) in sides)
        {
            var encoder = PsiRecords.Encoder(columns);
            foreach (var row in rows)
            {
                string?[] values = [.. columns.Select(c => row[Array.IndexOf(header, c.Name)])];
                yield return (null, encoder.Encode(values));
                for (var i = 0; i < values.Length; i++) yield return (encoder.Canonicalize(i, values[i]), []);
            }
        }
    }

    /// <summary>What must not be found, as bytes: UTF-8 text, its JSON-escaped form (grain state is JSON), binary and its base64 forms (JSON byte arrays).</summary>
    private static List<(string What, byte[] Pattern)> Forbidden()
    {
        var forbidden = new List<(string, byte[])>();
        void Text(string what, string value)
        {
            forbidden.Add((what, Encoding.UTF8.GetBytes(value)));
            var escaped = JsonSerializer.Serialize(value)[1..^1];
            if (escaped != value) forbidden.Add((what + " (JSON-escaped)", Encoding.UTF8.GetBytes(escaped)));
        }

        void Binary(string what, byte[] value)
        {
            forbidden.Add((what, value));
            foreach (var base64 in Base64Forms(value)) forbidden.Add((what + " (base64)", Encoding.ASCII.GetBytes(base64)));
        }

        foreach (var value in RawValues()) Text($"record value '{value}'", value);
        foreach (var (canonical, encoded) in Encoded())
        {
            if (canonical is { Length: >= 6 }) Text($"canonical value '{canonical}'", canonical);
            if (encoded.Length == 0) continue;
            Binary("an encoded record", encoded);
            var hashed = new byte[Ristretto255.Size];
            RistrettoOprf.HashToGroup(encoded, hashed);
            Binary("a record hashed to the group, unblinded", hashed);
        }

        return forbidden;
    }

    /// <summary>The base64 text <paramref name="value"/> shows inside any base64 string, at each of the three byte alignments.</summary>
    private static IEnumerable<string> Base64Forms(byte[] value)
    {
        for (var skip = 0; skip < 3; skip++)
        {
            var encoded = Convert.ToBase64String([.. new byte[skip], .. value]);
            var start = skip == 0 ? 0 : 4; // the first quantum mixes in the alignment bytes
            yield return encoded[start..^4]; // the last quantum depends on what follows
        }
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    [Fact]
    public async Task AfterFullRuns_TheDatabaseHoldsNoRecordNoEncodingAndNoSetOfTheSession()
    {
        var done = await RunAllAsync();
        var t = done.T;

        // A control session left open mid-exchange: its pod set is in the chunk table, so the queries below can see sets.
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("ln-open", "m1", SessionKinds.Psi, ["p1"],
            Psi: PsiScenario.Spec(PsiProtocolNames.Ecdh, PsiModeNames.Intersection) with { ModellerSetSize = 1 }));
        await t.Pods["p1"].AcceptPsiAsync(t.Tenant, "ln-open", new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1));
        var podSet = new byte[Ristretto255.Size];
        RistrettoOprf.HashToGroup("a control element"u8, podSet);
        await t.Pods["p1"].UploadPsiSetAsync(t.Tenant, "ln-open", PsiPayloads.PodSet, s => s.WriteAsync(podSet).AsTask(), podSet.Length);

        var stored = await StoredBytesAsync();
        Assert.Contains(stored, s => s.Where.StartsWith("chunk ", StringComparison.Ordinal) && Contains(s.Bytes, podSet));
        Assert.NotEqual(0, await ChunkRowsAsync($"{t.Tenant}/ln-open/"));
        Assert.Contains(stored, s => s.Where == $"grain payload {t.Tenant}/ln-open/psi-server-set");
        // The scan reads session state as stored: the spec's column names and the rsa session's public key are there.
        Assert.Contains(stored, s => Contains(s.Bytes, "full_name"u8.ToArray()) && Contains(s.Bytes, "telephone"u8.ToArray()));
        var modulus = RsaPsiPublicKey.Parse(Convert.FromBase64String(done.Sessions["ln-rsa"].Psi!.PublicKey!)).Modulus;
        Assert.Contains(stored, s => Base64Forms(modulus).Any(b => Contains(s.Bytes, Encoding.ASCII.GetBytes(b))));

        var forbidden = Forbidden();
        Assert.True(forbidden.Count > 100, $"only {forbidden.Count} patterns");
        foreach (var (where, bytes) in stored)
            foreach (var (what, pattern) in forbidden)
                Assert.False(Contains(bytes, pattern), $"{what} found in {where}");

        foreach (var id in done.Sessions.Keys)
        {
            Assert.Equal(0, await ChunkRowsAsync($"{t.Tenant}/{id}/"));
            Assert.DoesNotContain(stored, s => s.Where.StartsWith($"grain payload {t.Tenant}/{id}/", StringComparison.Ordinal));
        }

        // Ending the control session deletes its set too.
        await t.Pods["p1"].DeclinePsiAsync(t.Tenant, "ln-open", "done");
        Assert.Equal(0, await ChunkRowsAsync($"{t.Tenant}/ln-open/"));
    }

    [Fact]
    public async Task AfterFullRuns_SpansAndLogsHoldNoRecordValue()
    {
        var done = await RunAllAsync();

        var spans = service.SnapshotSpans();
        var traced = string.Join('\n', spans.SelectMany(a =>
            new[] { a.OperationName, a.DisplayName, a.StatusDescription ?? "" }
                .Concat(a.TagObjects.Select(tag => $"{tag.Key}={tag.Value}"))
                .Concat(a.Events.SelectMany(e => e.Tags.Select(tag => $"{e.Name} {tag.Key}={tag.Value}").Append(e.Name)))));
        var logged = string.Join('\n', service.Logs.Lines);
        Assert.Contains(spans, a => a.GetTagItem("smpc.session") is "ln-rsa");
        Assert.Contains(done.T.Tenant, logged + traced, StringComparison.Ordinal); // the runs were logged or traced at all

        var values = RawValues().Concat(Encoded().Select(e => e.Canonical).OfType<string>().Where(c => c.Length >= 6)).Distinct().ToList();
        foreach (var value in values)
        {
            Assert.DoesNotContain(value, traced, StringComparison.Ordinal);
            Assert.DoesNotContain(value, logged, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task EveryPartysSteps_JoinTheSessionsTrace()
    {
        var done = await RunAllAsync();

        foreach (var (id, _, mode, minCount) in Runs)
        {
            var names = SpansOf(done.Sessions[id]);
            // The modeller's and the pod's client steps (Smpc.Client, captured in process by the service's tracer).
            string[] expected = minCount > 0
                ? ["psi.keygen", "psi.blind", "psi.server_set.sign", "psi.double_blind", "psi.intersect"]
                : ["psi.keygen", "psi.blind", "psi.server_set.sign", "psi.sign", "psi.intersect"];
            Assert.Empty(expected.Where(name => !names.Contains(name)).Select(name => $"{id} ({mode}) has no {name} in its trace; it has {string.Join(", ", names.Order())}"));
        }
    }

    [Fact]
    public async Task TheServicesSteps_JoinTheSessionsTrace()
    {
        var done = await RunAllAsync();

        foreach (var (id, _, mode, minCount) in Runs)
        {
            var names = SpansOf(done.Sessions[id]);
            string[] expected = minCount > 0 ? ["session.create", "psi.accept", "psi.count", "psi.complete"] : ["session.create", "psi.accept", "psi.complete"];
            Assert.Empty(expected.Where(name => !names.Contains(name)).Select(name => $"{id} ({mode}) has no {name} in its trace; it has {string.Join(", ", names.Order())}"));
        }
    }

    private HashSet<string> SpansOf(SessionResponse session)
    {
        Assert.True(ActivityContext.TryParse(session.TraceParent, null, out var context), $"traceparent '{session.TraceParent}'");
        return [.. service.SnapshotSpans().Where(a => a.TraceId == context.TraceId).Select(a => a.OperationName)];
    }

    private async Task<List<(string Where, byte[] Bytes)>> StoredBytesAsync()
    {
        var rows = new List<(string, byte[])>();
        await using var connection = Open();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT 'grain ' || GrainTypeString || ' ' || IFNULL(GrainIdExtensionString, ''), PayloadBinary FROM OrleansStorage WHERE PayloadBinary IS NOT NULL
            UNION ALL
            SELECT 'chunk ' || payload_key || ' #' || chunk_index, data FROM smpc_payload_chunk
            """;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows.Add((reader.GetString(0), (byte[])reader.GetValue(1)));
        Assert.NotEmpty(rows);
        return rows;
    }

    private async Task<long> ChunkRowsAsync(string payloadKeyPrefix)
    {
        await using var connection = Open();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM smpc_payload_chunk WHERE substr(payload_key, 1, length($prefix)) = $prefix";
        command.Parameters.AddWithValue("$prefix", payloadKeyPrefix);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private SqliteConnection Open() =>
        new(new SqliteConnectionStringBuilder { DataSource = service.DatabasePath, Mode = SqliteOpenMode.ReadOnly }.ToString());
}
