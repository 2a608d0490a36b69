namespace Smpc.Cli;

/// <summary>A user's mistake found by smpc itself: printed as one line, the process exits with <see cref="ExitCode"/>.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    /// <summary>One of <see cref="ExitCodes"/>.</summary>
    public int ExitCode { get; } = exitCode;

    /// <summary>A malformed option value or a wrong combination of options.</summary>
    public static CliException Usage(string message) => new(ExitCodes.Usage, message);

    /// <summary>A local file that is missing or invalid.</summary>
    public static CliException Input(string message) => new(ExitCodes.Input, message);
}
