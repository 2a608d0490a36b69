using Smpc.Cli;

// smpc: the command line of Smpc.Orleans. Every failure is one line and a documented exit code (docs/cli.md).
using var tracing = CliTelemetry.Start();
return await SmpcCommands.InvokeAsync(args);
