using System.CommandLine;
using System.Text.Json;
using Smpc.Client;
using Smpc.Client.Identity;
using Smpc.Client.Federated;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Query;
using Spectre.Console;

namespace Smpc.Cli.Commands;

/// <summary>
/// <c>smpc query</c>: the modeller runs a federated SQL query over its pods (DESIGN.md §3.2) from a JSON spec (SQL, source,
/// group-by domains, aggregates), watching the rounds; the result table is computed here and written as CSV or JSON.
/// </summary>
public static class QueryCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    public static Command Build(Option<string> tenant, Func<ParseResult, Func<SmpcClient, Task>, Task<int>> run)
    {
        var id = new Argument<string>("session") { Description = "Session id" };
        var modeller = new Option<string>("--modeller") { Description = "Your modeller id", Required = true };
        var pods = new Option<string[]>("--pod") { Description = "Participating pod (repeat; at least 3)", Required = true, AllowMultipleArgumentsPerToken = true };
        var spec = new Option<FileInfo>("--spec")
        {
            Description = "The query as JSON: {sql, source, groupBy:[{column, values|bins|dateBins}], aggregates:[{name, kind: count|sum|mean, min, max, precision}], minPooledCount}",
            Required = true,
        };
        var sql = new Option<string?>("--sql") { Description = "Override the spec's SQL" };
        var minCount = new Option<long?>("--min-pooled-count") { Description = "Override the spec's minimum pooled count per cell" };
        var pin = new PinOptions();
        var output = new Option<FileInfo?>("--out") { Description = "Write the result table to .csv or .json (default: print only)" };
        var command = new Command("query", "Modeller: a federated SQL query; each pod runs it on its own data and only pooled counts, sums and means reach you.")
        {
            id, modeller, pods, spec, sql, minCount, output, tenant,
        };
        foreach (var option in pin.All) command.Options.Add(option);
        command.SetAction((r, ct) => run(r, async client =>
        {
            var pins = pin.Store(r, r.GetValue(tenant)!); // a bad --pin or pins file stops here, before a session exists
            var query = JsonSerializer.Deserialize<QueryRequest>(File.ReadAllText(r.GetValue(spec)!.FullName), Json)
                ?? throw new ArgumentException("The spec file is empty.");
            if (r.GetValue(sql) is { } text) query = query with { Sql = text };
            if (r.GetValue(minCount) is { } min) query = query with { MinPooledCount = min };
            try
            {
                var outcome = await CancelOnFailure.RunAsync(client, r.GetValue(tenant)!, r.GetValue(id)!,
                    () => RunAsync(client, r.GetValue(tenant)!, r.GetValue(id)!, r.GetValue(modeller)!, r.GetValue(pods)!, query, ct, pins), ct);
                Print(outcome);
                if (r.GetValue(output) is { } file) Write(outcome.Table, file);
            }
            catch (FederatedSessionFailedException failed)
            {
                throw new CliException(ExitCodes.Refused, $"query {r.GetValue(id)} failed: {failed.Message}");
            }
        }));
        return command;
    }

    /// <summary>Runs the query with a live status line per step.</summary>
    public static async Task<FederatedQueryOutcome> RunAsync(
        SmpcClient client, string tenant, string sessionId, string modellerId, IReadOnlyList<string> pods, QueryRequest query, CancellationToken ct,
        PinStore? pins = null)
    {
        AnsiConsole.MarkupLineInterpolated($"[grey]query[/] {sessionId} [grey]over[/] {string.Join(", ", pods)}[grey]:[/] {query.Sql}");
        FederatedQueryOutcome? outcome = null;
        await AnsiConsole.Status().StartAsync("creating the session", async status =>
        {
            var started = DateTimeOffset.UtcNow;
            outcome = await FederatedQueryRun.RunAsync(client, tenant, sessionId, modellerId, pods, query, pins, progress: step =>
            {
                status.Status($"{step}  [grey]({(DateTimeOffset.UtcNow - started).TotalSeconds:F1} s)[/]");
                AnsiConsole.MarkupLineInterpolated($"[blue]›[/] {step}");
            }, ct: ct);
        });
        return outcome!;
    }

    /// <summary>Prints the result table; withheld cells show their count only.</summary>
    public static void Print(FederatedQueryOutcome outcome)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in outcome.Table.Header) table.AddColumn(Markup.Escape(header));
        var rows = outcome.Table.TextRows().ToList();
        foreach (var row in rows.Take(200)) table.AddRow([.. row.Select(Cell)]);
        AnsiConsole.Write(table);
        if (rows.Count > 200) AnsiConsole.MarkupLineInterpolated($"[grey]… {rows.Count - 200} more rows (use --out)[/]");
        var withheld = outcome.Release.PooledCounts.Length - outcome.Release.ReleasedCells.Length;
        AnsiConsole.MarkupLineInterpolated($"[green]{outcome.Release.ReleasedCells.Length}[/] cells released, [yellow]{withheld}[/] withheld below the minimum pooled count, from {outcome.IncludedPods.Count} pods");
    }

    /// <summary>Empty cells as a dash; long decimals to 8 significant digits on screen (files keep every digit).</summary>
    private static string Cell(string text) =>
        text.Length == 0 ? "[grey]–[/]"
        : text.Contains('.') && double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value.ToString("G8", System.Globalization.CultureInfo.InvariantCulture)
            : Markup.Escape(text);

    private static void Write(QueryResultTable table, FileInfo file)
    {
        if (file.Extension.Equals(".json", StringComparison.OrdinalIgnoreCase))
        {
            using var stream = File.Create(file.FullName);
            table.WriteJson(stream);
        }
        else
        {
            using var writer = new StreamWriter(file.FullName);
            table.WriteCsv(writer);
        }

        AnsiConsole.MarkupLineInterpolated($"[green]result written to[/] {file.FullName}");
    }
}
