using System.CommandLine;
using Smpc.Cli;

// smpc: the command line of Smpc.Orleans. Later issues add the pod agent and the modeller commands.
using var tracing = CliTelemetry.Start();
return await SmpcCommands.Build().Parse(args).InvokeAsync();
