using Smpc.Cli;

// smpc: the command line of Smpc.Orleans. Every failure is one line and a documented exit code (docs/cli.md).
using var tracing = CliTelemetry.Start();
// Ctrl-C cancels the command's token; a modeller then cancels its session, which needs a few seconds before the process exits.
return await SmpcCommands.InvokeAsync(args);
