using System.CommandLine;
using System.Text.Json;
using Smpc.Client;
using Smpc.Client.Contracts;
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
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SMPC_URL") ?? "http://127.0.0.1:5080",
        Recursive = true,
    };

    private static readonly Option<string?> Key = new("--key")
    {
        Description = "API key (env SMPC_KEY): operator, tenant admin, pod or modeller",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SMPC_KEY"),
        Recursive = true,
    };

    private static readonly Option<string> Tenant = new("--tenant") { Description = "Tenant id", Required = true };

    /// <summary>Builds the root command.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("Smpc.Orleans: secure aggregation, federated SQL and training, and private set intersection as a service.");
        root.Options.Add(Url);
        root.Options.Add(Key);
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
        return root;
    }

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
        var create = new Command("new", "Creates a pod's Ed25519 identity key; prints the public key to register and its fingerprint.") { output };
        create.SetAction(r =>
        {
            using var pair = Smpc.Client.Identity.IdentityKeyFile.Create(r.GetValue(output)!.FullName);
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
        return new Command("pod", "Pods of a tenant.") { register, show, Commands.PodRunCommand.Build() };
    }

    private static Command ModellerCommands()
    {
        var id = new Argument<string>("id") { Description = "Modeller id" };
        var name = new Option<string>("--name") { Description = "Display name", Required = true };
        var register = new Command("register", "Tenant admin: registers a modeller; prints its API key once.") { id, name, Tenant };
        register.SetAction((r, ct) => RunAsync(r, async c => Print(await c.RegisterModellerAsync(
            r.GetValue(Tenant)!, new RegisterModellerRequest(r.GetValue(id)!, r.GetValue(name)!), ct))));
        return new Command("modeller", "Modellers of a tenant.") { register };
    }

    private static Command SessionCommands()
    {
        var id = new Argument<string>("id") { Description = "Session id" };
        var show = new Command("show", "Shows a session and its progress.") { id, Tenant };
        show.SetAction((r, ct) => RunAsync(r, async c => Print(await c.GetSessionAsync(r.GetValue(Tenant)!, r.GetValue(id)!, ct))));
        var reason = new Option<string?>("--reason") { Description = "Why (stored with the session and in the audit log)" };
        var cancel = new Command("cancel", "Its modeller or the tenant admin: cancels a session; its pods stop and later protocol messages are refused.") { id, reason, Tenant };
        cancel.SetAction((r, ct) => RunAsync(r, async c => Print(await c.CancelSessionAsync(r.GetValue(Tenant)!, r.GetValue(id)!, r.GetValue(reason), ct))));
        return new Command("session", "Protocol sessions (create secure aggregations with `smpc aggregate`).") { show, cancel };
    }

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

    internal static async Task<int> RunAsync(ParseResult result, Func<SmpcClient, Task> action)
    {
        try
        {
            // One gateway or several (comma-separated): fails over between them and retries while the service is briefly unavailable.
            // A retried upload or download (a cut connection) is a warning on stderr, so a long run shows why it paused.
            await action(SmpcClient.Resilient(SmpcClient.ParseGateways(result.GetValue(Url)!), result.GetValue(Key))
                .WithTransfers(TransferRetryPolicy.Default with { OnRetry = retry => Console.Error.WriteLine(retry.ToString()) }));
            return 0;
        }
        catch (SmpcApiException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{(int)e.Status} {e.Title}[/]: {e.Detail} [grey]({e.Type})[/]");
            return 1;
        }
        catch (HttpRequestException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]Cannot reach {result.GetValue(Url)}[/]: {e.Message}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine("[yellow]interrupted[/]");
            return 130;
        }
    }

    private static void Print<T>(T value) => Console.WriteLine(JsonSerializer.Serialize(value, Pretty));
}
