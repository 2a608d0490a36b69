using System.CommandLine;

namespace Smpc.Cli.Commands;

/// <summary><c>--output table|json</c>: a human table (the default) or the service's JSON, for scripts.</summary>
public static class OutputOption
{
    /// <summary>A new option (one per command: an option belongs to one parent).</summary>
    public static Option<string> Create()
    {
        var option = new Option<string>("--output", "-o") { Description = "table (default) or json", DefaultValueFactory = _ => "table" };
        option.AcceptOnlyFromAmong("table", "json");
        return option;
    }

    /// <summary>True when JSON was asked for.</summary>
    public static bool IsJson(ParseResult result, Option<string> option)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.GetValue(option) == "json";
    }
}
