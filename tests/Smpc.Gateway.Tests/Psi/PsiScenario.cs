using Smpc.Agent.DataSources;
using Smpc.Agent.Psi;
using Smpc.Client;
using Smpc.Client.Psi;
using Smpc.Client.Records;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests.Psi;

/// <summary>A PSI run through the real gateway: a modeller with a CSV, a pod (its runner, as the agent runs it) with another CSV.</summary>
internal sealed class PsiScenario : IDisposable
{
    public static readonly string[] ModellerHeader = ["ref", "full_name", "mail", "telephone"];
    public static readonly string[] PodHeader = ["id", "name", "email", "phone", "city"];

    public static readonly IReadOnlyList<PsiColumnRequest> ModellerColumns =
        [new("full_name", "text"), new("mail", "email"), new("telephone", "phone", "44")];

    public static readonly IReadOnlyList<PsiColumnRequest> PodColumns =
        [new("name", "text"), new("email", "email"), new("phone", "phone", "44")];

    /// <summary>Modeller rows; the ones whose ref starts with "hit" are in the pod's list in another spelling.</summary>
    public static readonly string?[][] ModellerRows =
    [
        ["hit-1", "José Álvarez", "Jose.Alvarez@Example.com", "+44 20 7946 0958"],
        ["hit-2", "Anna  Smith ", "anna.smith+news@example.com", "0044 (0)20 7946 0001"],
        ["hit-3", "Li Wei", "li.wei@example.org", "+8613800138000"],
        ["hit-4a", "Kurt Gödel", "kurt@example.at", "+43 1 234567"],
        ["hit-4b", "Kurt Gödel", "kurt@example.at", "+43 1 234567"], // a duplicate: both rows match
        ["miss-1", "José Álvarez", "Jose.Alvarez@Example.com", "+44 20 7946 0959"], // one digit differs
        ["miss-2", "Anna Smith", "anna.smith@example.net", "+44 20 7946 0001"], // other domain
        ["miss-3", "Nobody Here", "nobody@example.com", "+44 161 496 0000"],
    ];

    public static readonly string?[][] PodRows =
    [
        ["c1", "JOSE\u0301 A\u0301LVAREZ", "jose.alvarez@EXAMPLE.COM", "020-7946-0958", "London"], // NFD + upper case, national phone
        ["c2", "anna smith", "Anna.Smith@Example.com", "+442079460001", "Leeds"],
        ["c3", "  li   wei ", "LI.WEI@example.org", "0086 138 0013 8000", "Beijing"],
        ["c4", "KURT GÖDEL", "Kurt@Example.AT", "+43 (1) 234-567", "Vienna"],
        ["c4", "KURT GÖDEL", "Kurt@Example.AT", "+43 (1) 234-567", "Vienna"], // a pod-side duplicate
        ["c5", "Jane Roe", "jane@example.com", "+44 20 7946 0100", "York"],
        ["c6", "John Doe", "john@example.com", "+44 20 7946 0101", "Bath"],
    ];

    public static readonly string[] ExpectedHits = ["hit-1", "hit-2", "hit-3", "hit-4a", "hit-4b"];

    public PsiScenario()
    {
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "smpc-psi-" + Guid.NewGuid().ToString("N")[..8]);

    public string ModellerCsv => Path.Combine(Folder, "modeller.csv");

    public string PodCsv => Path.Combine(Folder, "pod.csv");

    public string OutputCsv => Path.Combine(Folder, "matches.csv");

    /// <summary>A valid X25519 public key for specs built by hand (the modeller run makes its own per session).</summary>
    public static string CountKey { get; } = Convert.ToBase64String(Smpc.Protocols.Crypto.X25519KeyPair.Generate(Smpc.Protocols.Randomness.SystemRandomSource.Instance).PublicKey);

    public static PsiRequest Spec(string protocol, string mode, int? keyBits = null) =>
        new(mode, ModellerColumns, PodColumns, "customers", 0, protocol, keyBits ?? (protocol == PsiProtocolNames.RsaBlind ? 2048 : null), TimeoutSeconds: 600,
            Version: protocol == PsiProtocolNames.Ecdh ? PsiProtocolNames.EcdhOprfV1 : protocol == PsiProtocolNames.Kkrt ? Smpc.Protocols.PrivateSetIntersection.Kkrt.KkrtPsiVersion.Current : null,
            CountKey: protocol == PsiProtocolNames.Ecdh && mode == PsiModeNames.Cardinality ? CountKey : null);

    public void Write(IEnumerable<string?[]> modellerRows, IEnumerable<string?[]> podRows)
    {
        using (var writer = new CsvRowWriter(ModellerCsv, ModellerHeader))
            foreach (var row in modellerRows) writer.WriteRow(row);
        using (var writer = new CsvRowWriter(PodCsv, PodHeader))
            foreach (var row in podRows) writer.WriteRow(row);
    }

    public PsiPodDriver Pod(SmpcClient pod, string tenant, PsiPolicy? policy = null) =>
        new(pod, tenant, "p1", new Dictionary<string, RecordSourceConfig> { ["customers"] = new() { Kind = "csv", Path = "pod.csv" } },
            policy ?? new PsiPolicy(), Folder, Path.Combine(Folder, "pod-state"), m => Console.Error.WriteLine("POD " + m));

    /// <summary>The pod's side: waits for the session to be listed, then runs it.</summary>
    public static async Task<SessionResponse> ServeAsync(PsiPodDriver runner, SmpcClient pod, string tenant, string sessionId)
    {
        for (var i = 0; ; i++)
        {
            var sessions = await pod.ListPodSessionsAsync(tenant, "p1");
            if (sessions.Contains(sessionId)) break;
            await pod.WaitForPodSessionsAsync(tenant, "p1", sessions.LastOrDefault() ?? "-", 5);
        }

        return await runner.RunAsync(await pod.GetSessionAsync(tenant, sessionId), CancellationToken.None);
    }

    /// <summary>Runs both sides; returns the modeller's outcome (or its failure) and the pod's last view.</summary>
    public async Task<(PsiOutcome? Outcome, PsiFailedException? Failure, SessionResponse Pod)> RunAsync(
        TenantClients t, PsiRequest spec, PsiPolicy? policy = null, string sessionId = "psi1")
    {
        var podTask = ServeAsync(Pod(t.Pods["p1"], t.Tenant, policy), t.Pods["p1"], t.Tenant, sessionId);
        var modeller = new PsiModellerRun(t.Modeller, t.Tenant, "m1") { Progress = new Progress<PsiProgress>(p => Console.Error.WriteLine($"MOD {p}")) };
        PsiOutcome? outcome = null;
        PsiFailedException? failure = null;
        try
        {
            outcome = await modeller.RunAsync(sessionId, "p1", spec, RecordSources.Opener(new RecordSourceConfig { Kind = "csv", Path = "modeller.csv" }, Folder), OutputCsv);
        }
        catch (PsiFailedException ex)
        {
            failure = ex;
        }

        return (outcome, failure, await podTask);
    }

    public async Task<List<string?[]>> ReadOutputAsync()
    {
        var rows = new List<string?[]>();
        await using var source = await RecordSources.OpenAsync(new RecordSourceConfig { Kind = "csv", Path = OutputCsv }, Folder);
        Assert.Equal(ModellerHeader, source.Columns);
        await foreach (var row in source.ReadRowsAsync()) rows.Add(row);
        return rows;
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
