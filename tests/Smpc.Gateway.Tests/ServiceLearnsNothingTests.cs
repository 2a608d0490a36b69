using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Smpc.Agent.SecureAggregation;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests;

/// <summary>
/// After a complete secure-aggregation run, the service's own database (grain state and payload chunks) and everything it
/// traced hold none of the pods' inputs and not the result: not as numbers in state, not as encoded field elements.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class ServiceLearnsNothingTests(EmbeddedService service)
{
    [Fact]
    public async Task AfterARun_TheDatabaseTracesAndLogs_HoldNoInputNoResultAndNoCredential()
    {
        string[] pods = ["p1", "p2", "p3"];
        var t = await Scenario.TenantAsync(service, pods);
        // Distinctive values with many digits, so a match could not be a coincidence (short ones like 31.4159 turn up in
        // the debug logs' request durations now and then).
        var inputs = new Dictionary<string, double[]>
        {
            ["p1"] = [1234.56781234, -987.65431234, 4242.42421234, 31.41591234],
            ["p2"] = [2718.28181234, 1618.03391234, -1414.21351234, 1732.05081234],
            ["p3"] = [577.21561234, -662.60701234, 299.79241234, 6022.14081234],
        };
        var spec = new AggregationRequest([new AggregationFieldRequest("w", 4, -10_000, 10_000)], "mean", "", "w", PhaseTimeoutSeconds: 60);
        using var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "secret", "m1", pods, spec);
        var runners = pods.Select(p => new SecureAggregationPodDriver(t.Pods[p], t.Tenant, "secret", p, t.Identities[p], _ => inputs[p])
        { PollInterval = TimeSpan.FromMilliseconds(20) }.RunAsync()).ToList();
        var outcome = await modeller.WaitForResultAsync();
        await Task.WhenAll(runners);

        var parameters = AggregationSession.Parameters(modeller.Session);
        var forbidden = new List<(string What, byte[] Bytes)>();
        foreach (var (pod, values) in inputs)
        {
            foreach (var element in parameters.Codec.Encode(values)) forbidden.Add(($"{pod}'s encoded input", BitConverter.GetBytes(element)));
            foreach (var v in values) forbidden.Add(($"{pod}'s input as text", System.Text.Encoding.UTF8.GetBytes(v.ToString(CultureInfo.InvariantCulture))));
        }

        foreach (var element in outcome.Raw.FieldSum) forbidden.Add(("the encoded aggregate", BitConverter.GetBytes(element)));
        foreach (var v in outcome.Values["w"]) forbidden.Add(("the result as text", System.Text.Encoding.UTF8.GetBytes(Math.Round(v, 7).ToString(CultureInfo.InvariantCulture))));

        var stored = await StoredBytesAsync();
        Assert.NotEmpty(stored);
        foreach (var (where, bytes) in stored)
            foreach (var (what, pattern) in forbidden)
                Assert.False(bytes.AsSpan().IndexOf(pattern) >= 0, $"{what} found in {where}");

        var traced = string.Join('\n', service.SnapshotSpans().SelectMany(a => a.Tags.Select(tag => $"{a.OperationName} {tag.Key}={tag.Value}")));
        var logged = string.Join('\n', service.Logs.Lines);
        Assert.NotEmpty(service.Logs.Lines);
        foreach (var (what, pattern) in forbidden.Where(f => f.What.EndsWith("text", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain(System.Text.Encoding.UTF8.GetString(pattern), traced, StringComparison.Ordinal);
            Assert.DoesNotContain(System.Text.Encoding.UTF8.GetString(pattern), logged, StringComparison.Ordinal);
        }

        foreach (var key in new[] { t.ModellerKey.ApiKey, service.OperatorKey })
            Assert.DoesNotContain(Smpc.TestSupport.KeySecrets.Of(key), logged + traced, StringComparison.Ordinal); // credentials are never logged or traced
        Assert.Equal((1234.56781234 + 2718.28181234 + 577.21561234) / 3, outcome.Values["w"][0], 1e-9); // the modeller did get it
    }

    private async Task<List<(string Where, byte[] Bytes)>> StoredBytesAsync()
    {
        var rows = new List<(string, byte[])>();
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = service.DatabasePath, Mode = SqliteOpenMode.ReadOnly }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT 'grain ' || GrainTypeString || ' ' || IFNULL(GrainIdExtensionString, ''), PayloadBinary FROM OrleansStorage WHERE PayloadBinary IS NOT NULL
            UNION ALL
            SELECT 'chunk ' || payload_key || ' #' || chunk_index, data FROM smpc_payload_chunk
            """;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows.Add((reader.GetString(0), (byte[])reader.GetValue(1)));
        Debug.Assert(rows.Count > 0);
        return rows;
    }
}
