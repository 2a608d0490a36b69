using Microsoft.Data.Sqlite;
using Smpc.Agent;
using Smpc.Agent.DataSources;
using Smpc.Agent.Query;
using Smpc.Client.Federated;
using Smpc.Client.Identity;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Query;
using Smpc.Samples;

namespace Smpc.Gateway.Tests.Federated;

/// <summary>
/// Federated SQL through the real gateway, grains and pod agents: three hospitals each hold a SQLite database; the modeller
/// learns pooled counts, sums and means per age band and ward, and the answer is checked against the same SQL run on one
/// database holding the union of the pods' rows.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class FederatedQueryEndToEndTests(EmbeddedService service)
{
    private static readonly string[] Pods = ["h1", "h2", "h3"];

    /// <summary>Each hospital's rows: h3 has nobody of 80 or more; h2 has exactly two cardiology patients in their 70s (below its minimum of 3).</summary>
    private static List<Admission> RowsOf(string pod) => pod switch
    {
        "h1" => [.. HospitalAdmissions.Generate(11, 400), new Admission(95, "oncology", 3.5, new DateOnly(2025, 3, 1)), new Admission(96, "oncology", 2.25, new DateOnly(2025, 3, 2))],
        "h2" => [.. HospitalAdmissions.Generate(22, 300).Where(a => !(a.Age is >= 70 and < 80 && a.Ward == "cardiology")),
            new Admission(71, "cardiology", 4.75, new DateOnly(2025, 4, 1)), new Admission(77, "cardiology", 9.5, new DateOnly(2025, 4, 2))],
        _ => [.. HospitalAdmissions.Generate(33, 350).Where(a => a.Age < 80)],
    };

    private static PodAgentConfig Configure(string pod, string folder, PodAgentConfig config, Action<QueryPolicy>? _ = null)
    {
        HospitalAdmissions.Write(Path.Combine(folder, "hospital.db"), RowsOf(pod));
        return config with
        {
            Sources = new() { ["hospital"] = new RecordSourceConfig { Kind = "sqlite", Path = "hospital.db" } },
            Query = new QueryPolicy { Tables = new() { ["admissions"] = ["age", "ward", "length_of_stay"] }, MinRowsPerGroup = 3 },
        };
    }

    [Fact]
    public async Task PooledCountsSumsAndMeans_EqualTheSameSqlOnTheUnionOfThePodsRows()
    {
        await using var pods = await FederatedPods.StartAsync(service, Pods, (pod, folder, config) => Configure(pod, folder, config));
        var query = HospitalAdmissions.AgeBandQuery(minPooledCount: 5);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var outcome = await FederatedQueryRun.RunAsync(pods.Modeller, pods.Tenant, "q1", "m1", Pods, query, ct: cts.Token);

        Assert.Equal(SessionPhases.Completed, outcome.Session.Phase);
        var expected = PooledAnswer();
        var table = outcome.Table;
        Assert.Equal(40, table.Rows.Count); // 10 age bands × 4 wards, present or not on each pod
        foreach (var row in table.Rows)
        {
            var key = Cell(row);
            var (count, sum) = expected.GetValueOrDefault(key);
            Assert.Equal(count, (long)row.Values[0]!.Value);
            if (count < 5)
            {
                Assert.True(row.Withheld, $"cell {key} has {count} patients pooled and must be withheld");
                Assert.Null(row.Values[1]);
                Assert.Null(row.Values[2]);
                continue;
            }

            Assert.False(row.Withheld);
            Assert.Equal(sum, row.Values[1]!.Value, 6); // quarter days: exact
            Assert.Equal(sum / count, row.Values[2]!.Value, 3); // the pooled mean, not a mean of means
        }

        // Cells a pod holds fewer than 3 patients of were left out on that pod, and the result says how many pods did so:
        // h2's two cardiology patients in their 70s among them.
        var suppressedCells = Suppressed();
        foreach (var row in table.Rows)
            Assert.Equal(suppressedCells.Count(s => s.Cell == Cell(row)), row.SuppressedOn);
        Assert.Contains(("h2", (70, "cardiology")), suppressedCells);
        Assert.Contains(table.Rows, r => r.Withheld);
        Assert.Contains(table.Rows, r => !r.Withheld);

        // One trace holds the pods' query steps, the rounds' secure-aggregation steps and the service's federated steps.
        var names = FederatedPods.SpanNames(service, outcome.Session);
        string[] expectedSpans = ["query.execute", "query.encode", "federated.round", "federated.release", "federated.member_key", "secagg.unmask", "secagg.keys.accept"];
        Assert.Equal([], expectedSpans.Except(names));
    }

    private static (int Band, string Ward) Cell(QueryResultRow row) =>
        (int.Parse(row.Keys[0].TrimStart('[').Split(',')[0], System.Globalization.CultureInfo.InvariantCulture), row.Keys[1]);

    /// <summary>(pod, cell) pairs where the pod holds 1 or 2 patients: below its minimum of 3 rows per group.</summary>
    private static List<(string Pod, (int Band, string Ward) Cell)> Suppressed() =>
        [.. Pods.SelectMany(p => RowsOf(p).GroupBy(a => (a.Age / 10 * 10, a.Ward)).Where(g => g.Count() < 3).Select(g => (p, g.Key)))];

    [Fact]
    public async Task APodWhosePolicyForbidsTheTable_EndsTheSessionWithItsReason()
    {
        await using var pods = await FederatedPods.StartAsync(service, Pods, (pod, folder, config) =>
        {
            var configured = Configure(pod, folder, config);
            return pod == "h2" ? configured with { Query = configured.Query with { Tables = new() { ["staff"] = ["*"] } } } : configured;
        });
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var failure = await Assert.ThrowsAsync<FederatedSessionFailedException>(() =>
            FederatedQueryRun.RunAsync(pods.Modeller, pods.Tenant, "q-forbidden", "m1", Pods, HospitalAdmissions.AgeBandQuery(), ct: cts.Token));

        Assert.Contains("Pod h2 declined", failure.Message);
        Assert.Contains("admissions", failure.Message);
        var session = await pods.Modeller.GetSessionAsync(pods.Tenant, "q-forbidden");
        Assert.Equal(SessionPhases.Failed, session.Phase);
        Assert.Empty(session.Federated!.Rounds); // no round started: nobody contributed anything
    }

    [Fact]
    public async Task AQueryThatErrorsOnOnePod_EndsTheSessionWithThatPodsReason()
    {
        // h3's database has no ward column: the same SQL fails there only.
        await using var pods = await FederatedPods.StartAsync(service, Pods, (pod, folder, config) =>
        {
            var configured = Configure(pod, folder, config);
            if (pod == "h3")
            {
                using var connection = new SqliteConnection($"Data Source={Path.Combine(folder, "hospital.db")};Pooling=False");
                connection.Open();
                using var drop = connection.CreateCommand();
                drop.CommandText = "ALTER TABLE admissions DROP COLUMN ward";
                drop.ExecuteNonQuery();
            }

            return configured;
        });
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var failure = await Assert.ThrowsAsync<FederatedSessionFailedException>(() =>
            FederatedQueryRun.RunAsync(pods.Modeller, pods.Tenant, "q-error", "m1", Pods, HospitalAdmissions.AgeBandQuery(), ct: cts.Token));

        Assert.Contains("Pod h3 declined", failure.Message);
        Assert.Contains("ward", failure.Message);
    }

    [Fact]
    public async Task ARoundOverFewerPodsThanTheSession_IsRefusedByThePods()
    {
        // Four hospitals; a modeller that runs the counts round over three of them (to later subtract) is refused.
        string[] four = [.. Pods, "h4"];
        await using var pods = await FederatedPods.StartAsync(service, four, (pod, folder, config) => Configure(pod == "h4" ? "h1" : pod, folder, config));
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var query = HospitalAdmissions.AgeBandQuery();
        using var modeller = await FederatedModeller.CreateAsync(pods.Modeller, pods.Tenant, new CreateSessionRequest("q-subset", "m1", SessionKinds.Query, four, Query: query), ct: cts.Token);
        await modeller.OpenChannelAsync(TimeSpan.FromMinutes(1), cts.Token);

        var failure = await Assert.ThrowsAsync<FederatedSessionFailedException>(() =>
            modeller.RunRoundAsync("counts", Pods, QueryShape.Create(query).CountRoundFields(), 60, cts.Token));

        Assert.Contains("declined: round 'counts' runs over pods h1, h2, h3", failure.Message);
        Assert.Equal(SessionPhases.Failed, (await pods.Modeller.GetSessionAsync(pods.Tenant, "q-subset")).Phase);
    }

    [Fact]
    public async Task APodWhoseIdentityDiffersFromTheModellersPin_GetsNoContentKey_NorDoesAnyOther()
    {
        await using var pods = await FederatedPods.StartAsync(service, Pods, (pod, folder, config) => Configure(pod, folder, config));
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        // The modeller pinned h2 to a key the service does not present (as if the registry had been rewritten since).
        var wrong = "sha256:" + new string('e', 64);
        var notices = new List<string>();
        var pins = new PinStore(null, [new Pin(pods.Tenant, PinKinds.Pod, "h2", wrong, PinSources.Configured, default)], notice: notices.Add);
        using var modeller = await FederatedModeller.CreateAsync(pods.Modeller, pods.Tenant,
            new CreateSessionRequest("q-pinned", "m1", SessionKinds.Query, Pods, Query: HospitalAdmissions.AgeBandQuery()), pins, ct: cts.Token);

        var error = await Assert.ThrowsAsync<PinMismatchException>(() => modeller.OpenChannelAsync(TimeSpan.FromMinutes(1), cts.Token));

        Assert.Equal(("h2", wrong), (error.Id, error.Pinned));
        Assert.Empty((await pods.Modeller.GetSessionAsync(pods.Tenant, "q-pinned")).Federated!.SealedKeys); // h1 was checked first, yet got nothing
        Assert.Single(notices); // h1 pinned on first use; h3 never reached
    }

    /// <summary>The same SQL on one database with every pod's rows, less the groups a pod suppressed (fewer than 3 rows on that pod).</summary>
    private static Dictionary<(int Band, string Ward), (long Count, double Sum)> PooledAnswer()
    {
        var suppressed = Suppressed();
        var pooled = Path.Combine(Path.GetTempPath(), "smpc-pooled-" + Guid.NewGuid().ToString("N")[..8] + ".db");
        try
        {
            HospitalAdmissions.Write(pooled, Pods.SelectMany(p => RowsOf(p).Where(a => !suppressed.Contains((p, (a.Age / 10 * 10, a.Ward))))));
            using var pooledConnection = new SqliteConnection($"Data Source={pooled};Pooling=False");
            pooledConnection.Open();
            using var command = pooledConnection.CreateCommand();
            command.CommandText = "SELECT (age / 10) * 10 AS band, ward, COUNT(*), SUM(length_of_stay) FROM admissions GROUP BY band, ward";
            using var reader = command.ExecuteReader();
            var result = new Dictionary<(int, string), (long, double)>();
            while (reader.Read()) result[(reader.GetInt32(0), reader.GetString(1))] = (reader.GetInt64(2), reader.GetDouble(3));
            return result;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            File.Delete(pooled);
        }
    }
}
