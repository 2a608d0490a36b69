using System.CommandLine;
using System.Globalization;

namespace Smpc.Cli;

/// <summary>Checks of option values made while parsing, so a bad value is a usage error (exit 2) before anything runs.</summary>
public static class CliOptions
{
    /// <summary>
    /// Refuses a typed value outside [<paramref name="min"/>, <paramref name="max"/>] with <paramref name="message"/>. Reads the
    /// token itself: a value that is not a number is already a parse error, and asking the option for it would throw.
    /// </summary>
    public static void Range(Option<int> option, int min, int max, string message)
    {
        ArgumentNullException.ThrowIfNull(option);
        option.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && int.TryParse(r.Tokens[0].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
                && (value < min || value > max))
                r.AddError(message);
        });
    }
}
