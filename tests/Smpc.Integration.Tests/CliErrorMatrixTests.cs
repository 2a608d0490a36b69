using System.Diagnostics;
using System.Text.Json;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.TestSupport;
using Xunit.Abstractions;

namespace Smpc.Integration.Tests;

/// <summary>
/// One embedded service for the CLI error matrix, seeded with tenant acme (admin, pod p1 with an identity key file, modeller m1),
/// and a folder of agent configurations, valid and broken.
/// </summary>
public sealed class CliWorld : IAsyncLifetime
{
    private ServiceProcess? _silo;

    public string Work { get; } = Path.Combine(Path.GetTempPath(), "smpc-cli-" + Guid.NewGuid().ToString("N")[..8]);

    public string Url => _silo!.BaseAddress!.ToString().TrimEnd('/');

    public string AdminKey { get; private set; } = "";

    public string PodKey { get; private set; } = "";

    public string ModellerKey { get; private set; } = "";

    /// <summary>A closed port on loopback: connections are refused at once.</summary>
    public string DeadUrl { get; } = $"http://127.0.0.1:{FreePort.Next()}";

    /// <summary>Writes an agent configuration into the work folder and returns its path.</summary>
    public string Config(string name, string json)
    {
        var path = Path.Combine(Work, name);
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>A valid configuration of pod p1 (its key is not in it).</summary>
    public string ValidConfig(string url) =>
        $$"""{ "url": "{{url}}", "tenant": "acme", "pod": "p1", "identityKeyFile": "p1.identity.json", "stateDirectory": "state", "inputs": { "los": { "values": [1, 2, 3] } } }""";

    public async Task InitializeAsync()
    {
        try
        {
            await StartAndSeedAsync();
        }
        catch (Exception)
        {
            await DisposeAsync(); // a half-started world stops what it started
            throw;
        }
    }

    private async Task StartAndSeedAsync()
    {
        Directory.CreateDirectory(Work);
        _silo = await Services.StartEmbeddedAsync(Path.Combine(Work, "data"));
        var @operator = Services.OperatorFor(_silo);
        AdminKey = (await @operator.CreateTenantAsync(new CreateTenantRequest("acme", "Acme"))).AdminKey!.ApiKey;
        var admin = @operator.WithKey(AdminKey);
        using var identity = Smpc.Agent.Identity.IdentityKeyFile.Create(Path.Combine(Work, "p1.identity.json"));
        PodKey = (await admin.RegisterPodAsync("acme", new RegisterPodRequest("p1", "Pod 1", Convert.ToBase64String(identity.PublicKey)))).ApiKey!.ApiKey;
        ModellerKey = (await admin.RegisterModellerAsync("acme", new RegisterModellerRequest("m1", "Modeller 1"))).ApiKey!.ApiKey;
    }

    public async Task DisposeAsync()
    {
        if (_silo is not null) await _silo.DisposeAsync();
        _silo = null;
        try { Directory.Delete(Work, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// The first hour at the command line: each user mistake gives one line naming the problem and the fix, its documented exit
/// code (docs/cli.md) and no stack trace. Every case runs the real `smpc` executable.
/// </summary>
public sealed class CliErrorMatrixTests(CliWorld world, ITestOutputHelper output) : IClassFixture<CliWorld>
{
    private static string Cli => RepoPaths.Assembly("Cli", "smpc");

    /// <summary>A mistake: the arguments (with {url}, {dead}, {work}, {admin}, {pod}, {modeller} filled in), the key in SMPC_KEY, the exit code and a part of the one line.</summary>
    public sealed record Mistake(string Name, string[] Args, string? Key, int ExitCode, string Message)
    {
        public override string ToString() => Name;
    }

    private const int Refused = 1, Usage = 2, Input = 3, Auth = 4, NotFound = 5, Unavailable = 6, IdentityMismatch = 8;

    public static TheoryData<Mistake> Mistakes() =>
    [
        // The command line itself.
        new("missing required option", ["session", "list", "--url", "{url}"], "{admin}", Usage, "Option '--tenant' is required. Run 'smpc session list --help' for usage."),
        new("unknown command", ["sesion", "list", "--url", "{url}"], "{admin}", Usage, "'sesion'"),
        new("unknown option", ["session", "list", "--tenant", "acme", "--tennant", "x"], "{admin}", Usage, "'--tennant'"),
        new("option value not a number", ["session", "list", "--tenant", "acme", "--limit", "ten"], "{admin}", Usage, "Cannot parse argument 'ten' for option '--limit'"),
        new("option value out of range", ["session", "list", "--tenant", "acme", "--limit", "0"], "{admin}", Usage, "--limit must be 1 to 500."),
        new("unknown output format", ["session", "show", "s1", "--tenant", "acme", "-o", "xml"], "{admin}", Usage, "Argument 'xml' not recognized. Must be one of: 'table' 'json'"),
        new("url not an address", ["health", "--url", "localhost:5080"], null, Usage, "--url 'localhost:5080' is not an http(s) address; give e.g. http://127.0.0.1:5080"),
        new("negative retry budget", ["health", "--retry-for", "-1"], null, Usage, "--retry-for must be 0 or more seconds."),
        new("malformed aggregate field", ["aggregate", "s9", "--tenant", "acme", "--modeller", "m1", "--pod", "p1", "--field", "los:three:0:365", "--input", "los", "--url", "{url}"],
            "{modeller}", Usage, "--field 'los:three:0:365': length, min, max and precision must be numbers"),
        new("malformed pin", ["aggregate", "s9", "--tenant", "acme", "--modeller", "m1", "--pod", "p1", "--field", "los:3:0:365", "--input", "los", "--pin", "p1=abc", "--url", "{url}"],
            "{modeller}", Usage, "--pin 'p1=abc' must be pod=sha256:<64 hex digits>"),
        new("the key instead of its id", ["key", "revoke", "smpc_abc", "--tenant", "acme", "--url", "{url}"], "{admin}", Usage, "'smpc_abc' is not a key id: a key id is 16 lower-case hex digits"),
        new("key issue for nobody", ["key", "issue", "--tenant", "acme", "--url", "{url}"], "{admin}", Usage, "Give exactly one of --pod ID, --modeller ID or --admin."),
        new("psi without a record source", ["psi", "o1", "--tenant", "acme", "--modeller", "m1", "--pod", "p1", "--columns", "name:text", "--pod-source", "customers", "--url", "{url}"],
            "{modeller}", Usage, "Give exactly one of --csv, --sqlite or --postgres."),
        new("psi unknown column kind", ["psi", "o1", "--tenant", "acme", "--modeller", "m1", "--pod", "p1", "--csv", "{work}/people.csv", "--columns", "name:texty", "--pod-source", "customers", "--url", "{url}"],
            "{modeller}", Usage, "Column 'name:texty': unknown kind 'texty' (kinds: text, case-sensitive-text, email, phone, integer)."),

        // Pins (no service involved).
        new("pin with a bad fingerprint", ["pins", "add", "p1", "--tenant", "acme", "--fingerprint", "sha256:abc", "--pins-file", "{work}/pins-bad.json"], null, Usage,
            "'sha256:abc' is not an identity fingerprint: sha256: followed by 64 hex digits"),
        new("pin of an unknown kind", ["pins", "add", "p1", "--tenant", "acme", "--kind", "robot", "--fingerprint", "sha256:abababababababababababababababababababababababababababababababab", "--pins-file", "{work}/pins-bad.json"], null, Usage,
            "Argument 'robot' not recognized. Must be one of: 'pod' 'modeller'"),
        new("pin without a tenant", ["pins", "add", "p1", "--fingerprint", "sha256:abababababababababababababababababababababababababababababababab", "--pins-file", "{work}/pins-bad.json"], null, Usage, "Option '--tenant' is required."),
        new("remove a pin that does not exist", ["pins", "remove", "p9", "--tenant", "acme", "--pins-file", "{work}/pins-bad.json"], null, NotFound,
            "no pin for pod 'p9' of tenant 'acme' in "),
        new("damaged pins file", ["pins", "list", "--pins-file", "{work}/broken.json"], null, Input, "broken.json is not valid JSON"),

        // Local files.
        new("agent config missing", ["pod", "run", "--config", "{work}/nope.json"], null, Input, "nope.json. Check the path."),
        new("agent config not JSON", ["pod", "run", "--config", "{work}/broken.json"], null, Input, "broken.json is not valid JSON (line 1"),
        new("agent config unknown key", ["pod", "run", "--config", "{work}/unknown-key.json"], null, Input, "unknown-key.json: $.inputz: unknown key (allowed: url, tenant, pod,"),
        new("agent config key in the wrong case", ["pod", "run", "--config", "{work}/wrong-case.json"], null, Input, "$.Tenant: unknown key (keys are case-sensitive: did you mean 'tenant'?)"),
        new("agent config wrong type", ["pod", "run", "--config", "{work}/wrong-type.json"], null, Input, "wrong-type.json: $.pollSeconds: expected a number, got the string \"fast\""),
        new("agent config wrong element type", ["pod", "run", "--config", "{work}/wrong-element.json"], null, Input, "$.inputs.los.values[1]: expected a number, got the string \"2\""),
        new("agent config bad input name", ["pod", "run", "--config", "{work}/input-name.json"], null, Input, "$.inputs.Length_of_stay: the name 'Length_of_stay' does not match"),
        new("agent config unknown source kind", ["pod", "run", "--config", "{work}/source-kind.json"], null, Input, "$.sources.crm.kind: \"mysql\" is not one of \"csv\", \"sqlite\", \"postgres\""),
        new("agent without a key", ["pod", "run", "--config", "{work}/valid.json"], null, Input, "No API key for pod acme/p1: pass --key, set the environment variable SMPC_POD_KEY"),
        new("agent identity file missing", ["pod", "run", "--config", "{work}/no-identity.json", "--key", "{pod}"], null, Input, "missing.identity.json. Check the path."),
        new("query spec missing", ["query", "q1", "--tenant", "acme", "--modeller", "m1", "--pod", "p1", "--spec", "{work}/stays.json", "--url", "{url}"], "{modeller}", Input, "stays.json. Check the path."),

        // Keys and ids.
        new("no key", ["session", "list", "--tenant", "acme", "--url", "{url}"], null, Auth, "the service does not accept the API key"),
        new("wrong key", ["session", "list", "--tenant", "acme", "--url", "{url}"], "smpc_pod_0123456789abcdef_notarealkeynotarealkeynotarealkey", Auth, "the service does not accept the API key"),
        new("key of the wrong role", ["key", "issue", "--pod", "p1", "--tenant", "acme", "--url", "{url}"], "{modeller}", Auth, "not allowed: "),
        new("agent run with a modeller's key", ["pod", "run", "--config", "{work}/valid.json", "--key", "{modeller}"], null, Auth,
            "The API key acts as Modeller acme/m1, not as pod acme/p1: give the pod's own key."),
        new("unknown session", ["session", "show", "nosuch", "--tenant", "acme", "--url", "{url}"], "{admin}", NotFound, "not found: Session 'nosuch' was not found."),
        new("unknown tenant", ["session", "list", "--tenant", "nosuch", "--url", "{url}"], "{admin}", NotFound, "not found: "),
        new("rotate a key that does not exist", ["key", "rotate", "--pod", "p1", "--old", "0123456789abcdef", "--tenant", "acme", "--url", "{url}"], "{admin}", NotFound, "not found: Key '0123456789abcdef'"),

        // The service refuses, or cannot be reached.
        new("aggregate with too few pods", ["aggregate", "s9", "--tenant", "acme", "--modeller", "m1", "--pod", "p1", "--field", "los:3:0:365", "--input", "los", "--url", "{url}"],
            "{modeller}", Refused, "the service refused the request (400"),
        new("service unreachable", ["session", "list", "--tenant", "acme", "--url", "{dead}", "--retry-for", "0"], "{admin}", Unavailable,
            "cannot reach {dead}: Connection refused. Check --url (or SMPC_URL) and that the service runs"),
    ];

    [Theory]
    [MemberData(nameof(Mistakes))]
    public async Task AUserMistake_GivesOneLine_ItsExitCode_AndNoStackTrace(Mistake mistake)
    {
        WriteConfigs();
        var (code, printed) = await RunAsync(mistake.Args, mistake.Key);
        output.WriteLine($"exit {code}\n{printed}");
        var lines = printed.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("smpc: ", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain("   at ", printed, StringComparison.Ordinal);
        Assert.Equal(mistake.ExitCode, code);
        var line = Assert.Single(lines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(Fill(mistake.Message), line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verbose_AddsTheStackTrace()
    {
        var (code, printed) = await RunAsync(["pod", "run", "--config", Path.Combine(world.Work, "nope.json"), "--verbose"], null);
        Assert.Equal(Input, code);
        Assert.Contains("error: file not found: ", printed, StringComparison.Ordinal);
        Assert.Contains("   at ", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableService_IsReportedWithin5Seconds_WithProgressWhileRetrying_ThenExits6()
    {
        var clock = Stopwatch.StartNew();
        await using var process = ServiceProcess.Start("smpc", Cli, null, Environment(world.AdminKey),
            "session", "list", "--tenant", "acme", "--url", world.DeadUrl, "--retry-for", "8");
        while (!process.Output.Contains("retrying for up to 8 s", StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "no progress line within 5 s:\n" + process.Output);
            Assert.False(process.HasExited, process.Output);
            await Task.Delay(50);
        }

        output.WriteLine($"first progress line after {clock.Elapsed.TotalSeconds:F1} s");
        await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine(process.Output);
        Assert.Contains($"smpc: {world.DeadUrl} still cannot be reached", process.Output, StringComparison.Ordinal);
        Assert.Contains($"error: cannot reach {world.DeadUrl}: Connection refused.", process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PodRunCheck_WithTheKeyTypedOnTheCommandLine_IsAccepted()
    {
        WriteConfigs();
        // SMPC_KEY holds the admin's key, as in a shell that set up the tenant: `pod run` must not use it, --key wins.
        var (code, printed) = await RunAsync(["pod", "run", "--config", Path.Combine(world.Work, "valid.json"), "--key", world.PodKey, "--check"], world.AdminKey);
        output.WriteLine(printed);
        Assert.Equal(0, code);
        Assert.Contains("valid.json: valid; the key acts as pod acme/p1", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SessionList_ShowsTheModellersSessions_AsATable_AndAsJson()
    {
        var modeller = new SmpcClient(new HttpClient { BaseAddress = new Uri(world.Url + "/") }, world.ModellerKey);
        var admin = modeller.WithKey(world.AdminKey);
        foreach (var pod in new[] { "p2", "p3" })
            await admin.RegisterPodAsync("acme", new RegisterPodRequest(pod, pod, Convert.ToBase64String(new byte[32])));
        await modeller.CreateSessionAsync("acme", new CreateSessionRequest("listed-1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"],
            new AggregationRequest([new AggregationFieldRequest("x", 3, 0, 10)], "mean", Convert.ToBase64String(new byte[32]), "los")));

        var (code, table) = await RunAsync(["session", "list", "--tenant", "acme", "--url", world.Url], world.ModellerKey);
        output.WriteLine(table);
        Assert.Equal(0, code);
        Assert.Contains("listed-1", table, StringComparison.Ordinal);
        Assert.Contains("p1: waiting, p2: waiting, p3: waiting", table, StringComparison.Ordinal); // redirected: nothing wrapped or cut

        var (jsonCode, json) = await RunAsync(["session", "list", "--tenant", "acme", "--url", world.Url, "--output", "json"], world.PodKey);
        Assert.Equal(0, jsonCode);
        var sessions = JsonSerializer.Deserialize<SessionPageResponse>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        Assert.Contains(sessions.Items, s => s.Id == "listed-1" && s.PodIds.Count == 3);
    }

    [Fact]
    public async Task Pins_AddListRemove_AndAChangedFingerprintIsRefused()
    {
        var file = Path.Combine(world.Work, "pins-" + Guid.NewGuid().ToString("N")[..6] + ".json");
        string[] Args(params string[] args) => [.. args, "--pins-file", file];
        var (a, b) = ("sha256:" + new string('a', 64), "sha256:" + new string('b', 64));

        Assert.Equal(0, (await RunAsync(Args("pins", "add", "p1", "--tenant", "acme", "--fingerprint", a.ToUpperInvariant().Replace("SHA256", "sha256", StringComparison.Ordinal)), null)).ExitCode);
        Assert.Equal(0, (await RunAsync(Args("pins", "add", "m1", "--tenant", "acme", "--kind", "modeller", "--fingerprint", b), null)).ExitCode);
        var (again, _) = await RunAsync(Args("pins", "add", "p1", "--tenant", "acme", "--fingerprint", a), null);
        Assert.Equal(0, again); // the same pin again is a no-op

        var (code, table) = await RunAsync(Args("pins", "list"), null);
        output.WriteLine(table);
        Assert.Equal(0, code);
        var rows = table.Split('\n').Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries))).ToList();
        Assert.Contains(rows, r => r.StartsWith($"acme pod p1 {a} added ", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith($"acme modeller m1 {b} added ", StringComparison.Ordinal));
        var (jsonCode, json) = await RunAsync(Args("pins", "list", "--output", "json"), null);
        Assert.Equal(0, jsonCode);
        var pins = JsonSerializer.Deserialize<List<JsonElement>>(json)!;
        Assert.Equal([("acme", "modeller", "m1", b), ("acme", "pod", "p1", a)],
            pins.Select(p => (p.GetProperty("tenant").GetString(), p.GetProperty("kind").GetString(), p.GetProperty("id").GetString(), p.GetProperty("fingerprint").GetString())));

        // Another fingerprint for a pinned pod is refused until the old pin is removed (a rotation is a person's decision).
        var (changed, refused) = await RunAsync(Args("pins", "add", "p1", "--tenant", "acme", "--fingerprint", b), null);
        output.WriteLine(refused);
        Assert.Equal(IdentityMismatch, changed);
        Assert.Contains($"error: pod 'p1' of tenant 'acme' is already pinned to {a} (added); remove that pin first", refused, StringComparison.Ordinal);
        Assert.Equal(0, (await RunAsync(Args("pins", "remove", "p1", "--tenant", "acme"), null)).ExitCode);
        Assert.Equal(0, (await RunAsync(Args("pins", "add", "p1", "--tenant", "acme", "--fingerprint", b), null)).ExitCode);
        var (_, after) = await RunAsync(Args("pins", "list", "--tenant", "acme", "-o", "json"), null);
        Assert.Contains(b, after, StringComparison.Ordinal);
        Assert.DoesNotContain(a, after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aggregate_WithAnUnpinnedPod_AndNoTrustOnFirstUse_Exits8_AndCancelsTheSession()
    {
        var modeller = new SmpcClient(new HttpClient { BaseAddress = new Uri(world.Url + "/") }, world.ModellerKey);
        var admin = modeller.WithKey(world.AdminKey);
        foreach (var pod in new[] { "u1", "u2", "u3" })
            await admin.RegisterPodAsync("acme", new RegisterPodRequest(pod, pod, Convert.ToBase64String(new byte[32])));
        var zero = (await admin.GetPodAsync("acme", "u1")).IdentityFingerprint!;
        var file = Path.Combine(world.Work, "pins-unpinned.json");

        var (code, printed) = await RunAsync(["aggregate", "unpinned", "--tenant", "acme", "--modeller", "m1", "--pod", "u1", "--pod", "u2", "--pod", "u3",
            "--field", "x:2:0:10", "--input", "x", "--pin", $"u1={zero}", "--no-trust-on-first-use", "--pins-file", file, "--url", world.Url], world.ModellerKey);
        output.WriteLine(printed);
        Assert.Equal(IdentityMismatch, code);
        Assert.Contains("error: pod 'u2' of tenant 'acme' is not pinned and trust on first use is off", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", printed, StringComparison.Ordinal);
        Assert.NotNull((await modeller.GetSessionAsync("acme", "unpinned")).Cancellation);
        Assert.False(File.Exists(file)); // nothing was pinned
    }

    private Task<(int ExitCode, string Output)> RunAsync(string[] args, string? key) =>
        ServiceProcess.RunToCompletionAsync(Cli, Environment(key is null ? null : Fill(key)), [.. args.Select(Fill)]);

    private static Dictionary<string, string> Environment(string? key)
    {
        // A clean environment for what smpc reads: no key unless the case gives one.
        // SMPC_PINS is set by ServiceProcess: a fresh file per process, never the real ~/.config/smpc/pins.json.
        var env = new Dictionary<string, string> { ["SMPC_URL"] = "", ["SMPC_POD_KEY"] = "", ["SMPC_RETRY_SECONDS"] = "5" };
        env["SMPC_KEY"] = key ?? "";
        return env;
    }

    private string Fill(string text) => text
        .Replace("{url}", world.Url, StringComparison.Ordinal)
        .Replace("{dead}", world.DeadUrl, StringComparison.Ordinal)
        .Replace("{work}", world.Work, StringComparison.Ordinal)
        .Replace("{admin}", world.AdminKey, StringComparison.Ordinal)
        .Replace("{pod}", world.PodKey, StringComparison.Ordinal)
        .Replace("{modeller}", world.ModellerKey, StringComparison.Ordinal);

    private void WriteConfigs()
    {
        File.WriteAllText(Path.Combine(world.Work, "people.csv"), "name,email\nAda,ada@example.com\n");
        world.Config("valid.json", world.ValidConfig(world.Url));
        world.Config("broken.json", "{ \"tenant\": \"acme\", ");
        world.Config("unknown-key.json", """{ "tenant": "acme", "pod": "p1", "identityKeyFile": "p1.identity.json", "inputz": {} }""");
        world.Config("wrong-case.json", """{ "Tenant": "acme", "tenant": "acme", "pod": "p1", "identityKeyFile": "p1.identity.json" }""");
        world.Config("wrong-type.json", """{ "tenant": "acme", "pod": "p1", "identityKeyFile": "p1.identity.json", "pollSeconds": "fast" }""");
        world.Config("wrong-element.json", """{ "tenant": "acme", "pod": "p1", "identityKeyFile": "p1.identity.json", "inputs": { "los": { "values": [1, "2"] } } }""");
        world.Config("input-name.json", """{ "tenant": "acme", "pod": "p1", "identityKeyFile": "p1.identity.json", "inputs": { "Length_of_stay": { "value": 1 } } }""");
        world.Config("source-kind.json", """{ "tenant": "acme", "pod": "p1", "identityKeyFile": "p1.identity.json", "sources": { "crm": { "kind": "mysql" } } }""");
        world.Config("no-identity.json", world.ValidConfig(world.Url).Replace("p1.identity.json", "missing.identity.json", StringComparison.Ordinal));
    }
}
