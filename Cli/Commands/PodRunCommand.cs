using System.CommandLine;
using Smpc.Agent;

namespace Smpc.Cli.Commands;

/// <summary><c>smpc pod run --config pod.json</c>: the long-running pod agent.</summary>
public static class PodRunCommand
{
    /// <summary>Builds the command; <paramref name="typed"/> reads the --url and --key typed on the command line.</summary>
    public static Command Build(Func<ParseResult, (string? Url, string? Key)> typed)
    {
        ArgumentNullException.ThrowIfNull(typed);
        var config = new Option<FileInfo>("--config") { Description = "The agent configuration (JSON; reference: docs/agent-config.md)", Required = true };
        var check = new Option<bool>("--check") { Description = "Check the configuration, the identity key file and the API key with the service, then exit" };
        var command = new Command("run",
            "Runs the pod agent: takes part in the pod's sessions as its policy allows. --url and --key typed here override the file's url and key "
            + "(SMPC_URL and SMPC_KEY do not: the key comes from the file's apiKey or the variable it names, SMPC_POD_KEY by default).")
        {
            config, check,
        };
        command.SetAction(async (r, ct) =>
        {
            var (url, key) = typed(r);
            var path = r.GetValue(config)!.FullName;
            var (budget, progress) = SmpcCommands.Retry(r, url ?? "the service");
            var agent = PodAgent.FromFile(path, line => Console.WriteLine($"{DateTime.Now:HH:mm:ss} {line}"), new PodAgentOverrides(url, key, budget, progress.Report));
            Smpc.Agent.Identity.IdentityKeyFile.Load(Resolve(path, agent.Config.IdentityKeyFile)).Dispose(); // a missing key file fails now, not later
            if (r.GetValue(check))
            {
                await agent.VerifyKeyAsync(ct);
                Console.WriteLine($"{Path.GetFileName(path)}: valid; the key acts as pod {agent.Config.Tenant}/{agent.Config.Pod} at {agent.Config.Url}.");
                return ExitCodes.Ok;
            }

            // A running agent waits for a service that is not up yet (progress lines meanwhile); a wrong key stops it at once.
            while (true)
            {
                try
                {
                    await agent.VerifyKeyAsync(ct);
                    break;
                }
                catch (Exception e) when (Smpc.Client.Transient.Is(e, ct))
                {
                }
            }

            try
            {
                await agent.RunAsync(ct);
            }
            catch (PodIdentityMismatchException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.Input;
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Resolve(string configPath, string path) =>
        Path.IsPathRooted(path) ? path : Path.Combine(Path.GetDirectoryName(configPath)!, path);
}
