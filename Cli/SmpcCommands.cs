using System.CommandLine;
using System.Text.Json;
using Smpc.Client;
using Smpc.Contracts;
using Spectre.Console;

namespace Smpc.Cli;

/// <summary>The <c>smpc</c> command tree.</summary>
public static class SmpcCommands
{
    // Relaxed escaping: terminal output, never HTML; keeps base64 keys copy-pasteable.
    private static readonly JsonSerializerOptions Pretty = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly Option<string> Url = new("--url")
    {
        Description = "Base URL of the service, or several gateways separated by commas (env SMPC_URL)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SMPC_URL") is { Length: > 0 } url ? url : "http://127.0.0.1:5080",
        Recursive = true,
    };

    private static readonly Option<string?> Key = new("--key")
    {
        Description = "API key (env SMPC_KEY): operator, tenant admin, pod or modeller",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SMPC_KEY") is { Length: > 0 } key ? key : null,
        Recursive = true,
    };

    private static readonly Option<FileInfo?> Identity = new("--identity")
    {
        Description = "A modeller's Ed25519 identity key file (`smpc identity new`; env SMPC_IDENTITY): signs the sessions it creates and its cancels; pods refuse unsigned sessions",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SMPC_IDENTITY") is { Length: > 0 } path ? new FileInfo(path) : null,
        Recursive = true,
    };

    private static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "On an error, print the full exception and its stack trace after the one-line message",
        Recursive = true,
    };

    private static readonly Option<int> RetryFor = CreateRetryFor();

    private static readonly Option<string> Tenant = new("--tenant") { Description = "Tenant id", Required = true };

    private static Option<int> CreateRetryFor()
    {
        var option = new Option<int>("--retry-for")
        {
            Description = "Seconds one request keeps retrying while the service is unreachable or unavailable, with a progress line every 5 s (env SMPC_RETRY_SECONDS; default 60; 0: fail at once)",
            DefaultValueFactory = _ => int.TryParse(Environment.GetEnvironmentVariable("SMPC_RETRY_SECONDS"), out var s) ? s : 60,
            Recursive = true,
        };
        CliOptions.Range(option, 0, int.MaxValue, "--retry-for must be 0 or more seconds.");
        return option;
    }

    /// <summary>Builds the root command.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("Smpc.Orleans: secure aggregation, federated SQL and training, and private set intersection as a service.");
        root.Options.Add(Url);
        root.Options.Add(Key);
        root.Options.Add(RetryFor);
        root.Options.Add(Identity);
        root.Options.Add(Verbose);
        root.Subcommands.Add(Health());
        root.Subcommands.Add(TenantCommands());
        root.Subcommands.Add(Me());
        root.Subcommands.Add(IdentityCommands());
        root.Subcommands.Add(PodCommands());
        root.Subcommands.Add(ModellerCommands());
        root.Subcommands.Add(SessionCommands());
        root.Subcommands.Add(Commands.AggregateCommand.Build(Tenant, RunAsync));
        root.Subcommands.Add(Commands.PsiCommand.Build(Tenant, RunAsync));
        root.Subcommands.Add(Commands.QueryCommand.Build(Tenant, RunAsync));
        root.Subcommands.Add(Commands.TrainCommand.Build(Tenant, RunAsync));
        root.Subcommands.Add(Commands.DemoCommand.Build());
        root.Subcommands.Add(PayloadCommands());
        root.Subcommands.Add(Commands.KeyCommands.Build(Tenant, RunAsync));
        root.Subcommands.Add(Commands.AuditCommands.Build(Tenant, RunAsync));
        root.Subcommands.Add(Commands.PinsCommands.Build());
        return root;
    }

    /// <summary>
    /// Parses and runs a command line. Every failure ends as one line on stderr and an exit code of <see cref="ExitCodes"/>
    /// (the stack trace only with --verbose): parse errors here, everything the commands throw through <see cref="CliErrors"/>.
    /// </summary>
    public static async Task<int> InvokeAsync(string[] args)
    {
        ParseResult parsed;
        try
        {
            parsed = Build().Parse(args);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: internal error while reading the command line ({e.GetType().Name}: {OneLine(e.Message)}). Please report it.");
            return ExitCodes.Internal;
        }

        if (parsed.Errors.Count > 0)
        {
            // A mistyped word explains more than what is then missing, so unrecognised tokens are reported first.
            var error = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parsed.Errors[0];
            Console.Error.WriteLine($"error: {OneLine(error.Message)} Run '{CommandPath(parsed.CommandResult.Command)} --help' for usage.");
            return ExitCodes.Usage;
        }

        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = TimeSpan.FromSeconds(10) });
        }
        catch (Exception e)
        {
            var (code, message) = CliErrors.Describe(e, parsed.GetValue(Url));
            Console.Error.WriteLine($"error: {OneLine(message)}");
            if (parsed.GetValue(Verbose)) Console.Error.WriteLine(e);
            else if (code == ExitCodes.Internal) Console.Error.WriteLine("(the stack trace is printed with --verbose)");
            return code;
        }
    }

    /// <summary>Messages (ours, the parser's, the service's) may hold line breaks: the report stays one line.</summary>
    private static string OneLine(string message) =>
        string.Join(' ', message.Split((char[])['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string CommandPath(Command command)
    {
        var names = new List<string>();
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
            names.Insert(0, c is RootCommand ? "smpc" : c.Name);
        return string.Join(' ', names);
    }

    /// <summary>The gateways of --url (or SMPC_URL), checked: absolute http or https addresses.</summary>
    internal static IReadOnlyList<Uri> Gateways(string? urls)
    {
        IReadOnlyList<Uri> gateways;
        try
        {
            gateways = SmpcClient.ParseGateways(urls ?? "");
        }
        catch (UriFormatException)
        {
            gateways = [];
        }

        if (gateways.Count == 0 || gateways.Any(g => g.Scheme is not ("http" or "https")))
            throw CliException.Usage($"--url '{urls}' is not an http(s) address; give e.g. http://127.0.0.1:5080 (several: comma-separated).");
        return gateways;
    }

    /// <summary>The client of a command: the gateways of --url, the key, and --retry-for with progress lines on stderr.</summary>
    internal static SmpcClient CreateClient(ParseResult result, string? key, string? url = null, TimeSpan? timeout = null)
    {
        url ??= result.GetValue(Url)!;
        var budget = TimeSpan.FromSeconds(result.GetValue(RetryFor));
        var progress = new RetryProgress(url, budget, Console.Error);
        // One gateway or several (comma-separated): fails over between them and retries while the service is briefly unavailable.
        // A retried upload or download (a cut connection) is a warning on stderr, so a long run shows why it paused.
        var client = SmpcClient.Resilient(Gateways(url), key, timeout, budget, progress.Report)
            .WithTransfers(TransferRetryPolicy.Default with { OnRetry = retry => Console.Error.WriteLine(retry.ToString()) });
        return result.GetValue(Identity) is { } identity ? client.WithModellerIdentity(LoadIdentity(identity)) : client;
    }

    private static Smpc.Protocols.Crypto.Ed25519KeyPair LoadIdentity(FileInfo file)
    {
        try
        {
            return Smpc.Agent.Identity.IdentityKeyFile.Load(file.FullName);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or System.Text.Json.JsonException or FormatException or UnauthorizedAccessException)
        {
            throw CliException.Usage($"--identity '{file.FullName}' is not a readable identity key file ({ex.Message}); create one with `smpc identity new --out FILE`.");
        }
    }

    /// <summary>The retry budget of --retry-for and a progress reporter for <paramref name="url"/>, for clients built elsewhere (the pod agent's).</summary>
    internal static (TimeSpan Budget, RetryProgress Progress) Retry(ParseResult result, string url)
    {
        var budget = TimeSpan.FromSeconds(result.GetValue(RetryFor));
        return (budget, new RetryProgress(url, budget, Console.Error));
    }

    /// <summary>
    /// The --url and --key typed on the command line (null when not), for the pod agent: they override its configuration,
    /// while SMPC_URL and SMPC_KEY do not (in a shell they usually hold the admin's or a modeller's key).
    /// </summary>
    internal static (string? Url, string? Key) Typed(ParseResult result) =>
        (result.GetResult(Url) is { Implicit: false } ? result.GetValue(Url) : null,
         result.GetResult(Key) is { Implicit: false } ? result.GetValue(Key) : null);

    private static Command Health()
    {
        var command = new Command("health", "Checks that the service, its cluster and its storage answer.");
        command.SetAction((result, ct) => RunAsync(result, async client => Print(await client.GetReadinessAsync(ct))));
        return command;
    }

    private static Command TenantCommands()
    {
        var id = new Argument<string>("id") { Description = "Tenant id" };
        var name = new Option<string>("--name") { Description = "Display name", Required = true };
        var create = new Command("create", "Creates a tenant.") { id, name };
        create.SetAction((r, ct) => RunAsync(r, async c => Print(await c.CreateTenantAsync(new CreateTenantRequest(r.GetValue(id)!, r.GetValue(name)!), ct))));
        var show = new Command("show", "Shows a tenant.") { id };
        show.SetAction((r, ct) => RunAsync(r, async c => Print(await c.GetTenantAsync(r.GetValue(id)!, ct))));
        return new Command("tenant", "Tenants.") { create, show };
    }

    private static Command Me()
    {
        var command = new Command("me", "Shows who the API key acts as.");
        command.SetAction((result, ct) => RunAsync(result, async client => Print(await client.WhoAmIAsync(ct))));
        return command;
    }

    private static Command IdentityCommands()
    {
        var output = new Option<FileInfo>("--out") { Description = "Where to write the key file (owner-only permissions)", Required = true };
        var create = new Command("new", "Creates a pod's or a modeller's Ed25519 identity key; prints the public key to register and its fingerprint.") { output };
        create.SetAction(r =>
        {
            using var pair = Smpc.Agent.Identity.IdentityKeyFile.Create(r.GetValue(output)!.FullName);
            Print(new { publicKey = Convert.ToBase64String(pair.PublicKey), fingerprint = pair.Fingerprint, file = r.GetValue(output)!.FullName });
            return 0;
        });
        return new Command("identity", "Long-term identity keys.") { create };
    }

    private static Command PodCommands()
    {
        var id = new Argument<string>("id") { Description = "Pod id" };
        var name = new Option<string>("--name") { Description = "Display name", Required = true };
        var identity = new Option<string>("--identity-key") { Description = "The pod's Ed25519 identity public key (base64)", Required = true };
        var register = new Command("register", "Tenant admin: registers a pod; prints its API key once.") { id, name, identity, Tenant };
        register.SetAction((r, ct) => RunAsync(r, async c => Print(await c.RegisterPodAsync(
            r.GetValue(Tenant)!, new RegisterPodRequest(r.GetValue(id)!, r.GetValue(name)!, r.GetValue(identity)!), ct))));
        var show = new Command("show", "Shows a pod and its identity fingerprint.") { id, Tenant };
        show.SetAction((r, ct) => RunAsync(r, async c => Print(await c.GetPodAsync(r.GetValue(Tenant)!, r.GetValue(id)!, ct))));
        return new Command("pod", "Pods of a tenant.") { register, show, Commands.PodRunCommand.Build(Typed) };
    }

    private static Command ModellerCommands()
    {
        var id = new Argument<string>("id") { Description = "Modeller id" };
        var name = new Option<string>("--name") { Description = "Display name", Required = true };
        var identity = new Option<string?>("--identity-key") { Description = "The modeller's Ed25519 identity public key (base64, from `smpc identity new`); without one, pods refuse its sessions" };
        var register = new Command("register", "Tenant admin: registers a modeller with its identity key; prints its API key once.") { id, name, identity, Tenant };
        register.SetAction((r, ct) => RunAsync(r, async c => Print(await c.RegisterModellerAsync(
            r.GetValue(Tenant)!, new RegisterModellerRequest(r.GetValue(id)!, r.GetValue(name)!, r.GetValue(identity)), ct))));
        var show = new Command("show", "Shows a modeller and its identity fingerprint (for pods to pin).") { id, Tenant };
        show.SetAction((r, ct) => RunAsync(r, async c => Print(await c.GetModellerAsync(r.GetValue(Tenant)!, r.GetValue(id)!, ct))));
        return new Command("modeller", "Modellers of a tenant.") { register, show };
    }

    private static Command SessionCommands() => Commands.SessionCommands.Build(Tenant, RunAsync);

    private static Command PayloadCommands()
    {
        var session = new Option<string>("--session") { Description = "Session id", Required = true };
        var name = new Argument<string>("name") { Description = "Payload name" };
        var file = new Argument<FileInfo>("file") { Description = "File to send or to write" };
        var put = new Command("put", "Uploads a file as a session payload.") { name, file, session, Tenant };
        put.SetAction((r, ct) => RunAsync(r, async c =>
        {
            await using var stream = r.GetValue(file)!.OpenRead();
            Print(await c.UploadPayloadAsync(r.GetValue(Tenant)!, r.GetValue(session)!, r.GetValue(name)!, stream, ct));
        }));
        var get = new Command("get", "Downloads a session payload to a file.") { name, file, session, Tenant };
        get.SetAction((r, ct) => RunAsync(r, async c =>
        {
            await using var stream = r.GetValue(file)!.Create();
            var bytes = await c.DownloadPayloadAsync(r.GetValue(Tenant)!, r.GetValue(session)!, r.GetValue(name)!, stream, ct);
            AnsiConsole.MarkupLineInterpolated($"[green]{bytes}[/] bytes written to {r.GetValue(file)!.FullName}");
        }));
        return new Command("payload", "Large session payloads.") { put, get };
    }

    /// <summary>Runs a command's work with the client of --url and --key; failures are reported by <see cref="InvokeAsync"/>.</summary>
    internal static async Task<int> RunAsync(ParseResult result, Func<SmpcClient, Task> action)
    {
        await action(CreateClient(result, result.GetValue(Key)));
        return ExitCodes.Ok;
    }

    /// <summary>Writes <paramref name="value"/> as indented JSON to stdout.</summary>
    internal static void Print<T>(T value) => Console.WriteLine(JsonSerializer.Serialize(value, Pretty));
}
