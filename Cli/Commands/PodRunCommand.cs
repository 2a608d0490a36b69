using System.CommandLine;
using Smpc.Client.Agent;

namespace Smpc.Cli.Commands;

/// <summary><c>smpc pod run --config pod.json</c>: the long-running pod agent.</summary>
public static class PodRunCommand
{
    public static Command Build()
    {
        var config = new Option<FileInfo>("--config") { Description = "The agent configuration (JSON)", Required = true };
        var command = new Command("run", "Runs the pod agent: takes part in the pod's secure-aggregation sessions as its policy allows.") { config };
        command.SetAction(async (r, ct) =>
        {
            var agent = PodAgent.FromFile(r.GetValue(config)!.FullName, line => Console.WriteLine($"{DateTime.Now:HH:mm:ss} {line}"));
            try
            {
                await agent.RunAsync(ct);
                return 0;
            }
            catch (PodIdentityMismatchException e)
            {
                Console.Error.WriteLine(e.Message);
                return 3;
            }
        });
        return command;
    }
}
