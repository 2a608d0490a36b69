using Spectre.Console;

namespace Smpc.Cli;

/// <summary>Tables on stdout: the full terminal width on a terminal; never wrapped or truncated when the output is redirected.</summary>
public static class CliTables
{
    /// <summary>Width given to redirected output: wide enough that no cell is cut or wrapped.</summary>
    private const int RedirectedWidth = 1 << 16;

    /// <summary>Writes <paramref name="table"/> to stdout.</summary>
    public static void Write(Table table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (Console.IsOutputRedirected)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Out = new AnsiConsoleOutput(Console.Out),
                Interactive = InteractionSupport.No,
            });
            console.Profile.Width = RedirectedWidth;
            table.Border(TableBorder.Simple);
            console.Write(table);
            return;
        }

        AnsiConsole.Write(table.Expand());
    }

    /// <summary>A table with the given column headers, for <see cref="Write"/>.</summary>
    public static Table Create(params string[] columns)
    {
        var table = new Table();
        foreach (var column in columns) table.AddColumn(new TableColumn(Markup.Escape(column)) { NoWrap = false });
        return table;
    }

    /// <summary>Adds a row of plain text (no markup).</summary>
    public static Table Row(this Table table, params string?[] cells)
    {
        ArgumentNullException.ThrowIfNull(table);
        table.AddRow([.. cells.Select(c => new Text(c ?? ""))]);
        return table;
    }
}
