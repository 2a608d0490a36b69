using System.CommandLine;
using Smpc.Cli;

// smpc: the command line of Smpc.Orleans. Later issues add the pod agent and the modeller commands.
using var tracing = CliTelemetry.Start();
// Ctrl-C cancels the command's token; a modeller then cancels its session, which needs a few seconds before the process exits.
return await SmpcCommands.Build().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(10) });
