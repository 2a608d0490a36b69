using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Smpc.Agent.DataSources;
using Smpc.Client;
using Smpc.Client.Psi;
using Smpc.Contracts;
using Spectre.Console;

namespace Smpc.Cli.Commands;

/// <summary>
/// <c>smpc psi</c>: the modeller runs a private set intersection against one pod from its own CSV, SQLite or PostgreSQL
/// records, watching progress; the matching rows (intersection) or the count (cardinality) are computed here and never sent.
/// </summary>
public static class PsiCommand
{
    public static Command Build(Option<string> tenant, Func<ParseResult, Func<SmpcClient, Task>, Task<int>> run)
    {
        var id = new Argument<string>("session") { Description = "Session id" };
        var modeller = new Option<string>("--modeller") { Description = "Your modeller id", Required = true };
        var pod = new Option<string>("--pod") { Description = "The pod to intersect with", Required = true };
        var csv = new Option<FileInfo?>("--csv") { Description = "Your records: a CSV file with a header row" };
        var sqlite = new Option<FileInfo?>("--sqlite") { Description = "Your records: a SQLite database (with --table or --query)" };
        var postgres = new Option<string?>("--postgres") { Description = "Your records: a PostgreSQL connection string (with --table or --query)" };
        var table = new Option<string?>("--table") { Description = "SQLite/PostgreSQL: the table to read" };
        var query = new Option<string?>("--query") { Description = "SQLite/PostgreSQL: the SELECT to read" };
        var columns = new Option<string>("--columns")
        {
            Description = "Your columns to match on: name:kind[:country],… kinds text, case-sensitive-text, email, phone, integer (e.g. name:text,email:email,phone:phone:44)",
            Required = true,
        };
        var podColumns = new Option<string?>("--pod-columns") { Description = "The pod's columns, same kinds in the same order (default: the same names as --columns)" };
        var podSource = new Option<string>("--pod-source") { Description = "The pod's named data source", Required = true };
        var protocol = new Option<string>("--protocol") { Description = "ecdh (default), kkrt (OT extension, fastest on large sets; the pod must list it) or rsa-blind (reference)", DefaultValueFactory = _ => PsiProtocolNames.Ecdh };
        var mode = new Option<string>("--mode") { Description = "intersection (your matching rows) or cardinality (only the count)", DefaultValueFactory = _ => PsiModeNames.Intersection };
        var keyBits = new Option<int?>("--key-bits") { Description = "rsa-blind: the pod's key size (2048, 3072 default, 4096)" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds the whole session may take", DefaultValueFactory = _ => 3600 };
        var output = new Option<FileInfo?>("--out") { Description = "intersection: where to write your matching rows as CSV (default <session>-matches.csv)" };
        var noReport = new Option<bool>("--no-report") { Description = "Do not record the count in the session (the audit trail then shows only that it completed)" };
        var command = new Command("psi", "Modeller: private set intersection with a pod; matching happens here and the service sees only blinded values.")
        {
            id, modeller, pod, csv, sqlite, postgres, table, query, columns, podColumns, podSource, protocol, mode, keyBits, timeout, output, noReport, tenant,
        };
        command.SetAction((r, ct) => run(r, async client =>
        {
            var source = Source(r.GetValue(csv), r.GetValue(sqlite), r.GetValue(postgres), r.GetValue(table), r.GetValue(query));
            var mine = ParseColumns(r.GetValue(columns)!);
            var theirs = r.GetValue(podColumns) is { } pc ? ParseColumns(pc) : mine;
            var spec = new PsiRequest(r.GetValue(mode)!, mine, theirs, r.GetValue(podSource)!, 0, r.GetValue(protocol)!, r.GetValue(keyBits), r.GetValue(timeout));
            var session = r.GetValue(id)!;
            var outPath = spec.Mode == PsiModeNames.Intersection ? (r.GetValue(output)?.FullName ?? Path.GetFullPath($"{session}-matches.csv")) : null;
            try
            {
                var outcome = await CancelOnFailure.RunAsync(client, r.GetValue(tenant)!, session, () => RunAsync(client, r.GetValue(tenant)!, session, r.GetValue(modeller)!, r.GetValue(pod)!,
                    spec, source, Environment.CurrentDirectory, outPath, !r.GetValue(noReport), ct), ct);
                Print(outcome);
            }
            catch (PsiFailedException failed)
            {
                throw new CliException(ExitCodes.Refused, $"PSI session {failed.Session.Id} failed: {failed.Message}");
            }
        }));
        return command;
    }

    /// <summary>Runs the modeller's side with a live progress display (elements done and rate per step).</summary>
    public static async Task<PsiOutcome> RunAsync(
        SmpcClient client, string tenant, string sessionId, string modellerId, string podId, PsiRequest spec, RecordSourceConfig source, string baseDirectory,
        string? outputPath, bool reportCount, CancellationToken ct)
    {
        AnsiConsole.MarkupLineInterpolated($"[grey]PSI[/] {spec.Protocol} {spec.Mode} [grey]with pod[/] {podId} [grey]on[/] {string.Join(", ", spec.ModellerColumns.Select(c => $"{c.Name} ({c.Kind})"))}");
        PsiOutcome? outcome = null;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<string, (ProgressTask Task, Stopwatch Watch)>();
                var progress = new SyncProgress(p =>
                {
                    var step = p.Step.StartsWith("waiting", StringComparison.Ordinal) ? "waiting" : p.Step;
                    if (!tasks.TryGetValue(step, out var entry))
                    {
                        entry = (context.AddTask(step, maxValue: 1), Stopwatch.StartNew());
                        tasks[step] = entry;
                    }

                    if (step == "waiting")
                    {
                        entry.Task.Description = p.Step;
                        entry.Task.IsIndeterminate = true;
                        return;
                    }

                    foreach (var waiting in tasks.Where(t => t.Key == "waiting")) waiting.Value.Task.StopTask();
                    entry.Task.MaxValue = Math.Max(1, p.Total ?? p.Done);
                    entry.Task.Value = p.Done;
                    var rate = p.Done / Math.Max(entry.Watch.Elapsed.TotalSeconds, 1e-3);
                    entry.Task.Description = $"{step,-12} {p.Done.ToString("N0", CultureInfo.InvariantCulture),12} elements  {rate.ToString("N0", CultureInfo.InvariantCulture),10}/s";
                });
                var run = new PsiModellerRun(client, tenant, modellerId) { Progress = progress, ReportCount = reportCount };
                outcome = await run.RunAsync(sessionId, podId, spec, RecordSources.Opener(source, baseDirectory), outputPath, ct);
                foreach (var task in tasks.Values) task.Task.StopTask();
            });
        return outcome!;
    }

    public static void Print(PsiOutcome outcome)
    {
        var psi = outcome.Session.Psi!;
        AnsiConsole.MarkupLineInterpolated($"[green]{outcome.Count:N0}[/] of your {psi.ModellerSetSize:N0} records are in the pod's set of {psi.PodSetSize:N0} ([grey]{psi.Protocol} {psi.Mode}[/])");
        PrintSkipped(outcome.Stats);
        if (outcome.OutputPath is { } path) AnsiConsole.MarkupLineInterpolated($"[green]matching rows written to[/] {path}");
        AnsiConsole.MarkupLineInterpolated($"[grey]recorded in the session:[/] {(psi.ReportedCount is { } c ? $"count {c}" : "completed, no count")}");
    }

    /// <summary>Skipped rows by reason; above 1% a red warning, since those rows cannot match however the pod spells them.</summary>
    public static void PrintSkipped(PsiReadStats stats)
    {
        if (stats.Skipped == 0) return;
        var share = (double)stats.Skipped / Math.Max(stats.Rows, 1);
        if (stats.SkippedTooMany)
            AnsiConsole.MarkupLineInterpolated($"[bold red]WARNING: {stats.Skipped:N0} of your {stats.Rows:N0} rows ({share:P1}) were skipped and cannot match; check the column kinds and country codes[/]");
        else
            AnsiConsole.MarkupLineInterpolated($"[yellow]{stats.Skipped:N0} of your {stats.Rows:N0} rows were skipped[/]");
        foreach (var (reason, count) in stats.SkippedByReason.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal))
            AnsiConsole.MarkupLineInterpolated($"  [grey]{reason,-28}[/] {count,12:N0}");
        AnsiConsole.MarkupLineInterpolated($"  [grey]first: {stats.FirstProblem ?? "blank key columns"}[/]");
    }

    private static RecordSourceConfig Source(FileInfo? csv, FileInfo? sqlite, string? postgres, string? table, string? query)
    {
        var given = new object?[] { csv, sqlite, postgres }.Count(x => x is not null);
        if (given != 1) throw new ArgumentException("Give exactly one of --csv, --sqlite or --postgres.");
        if (csv is not null) return new RecordSourceConfig { Kind = "csv", Path = csv.FullName };
        if (sqlite is not null) return new RecordSourceConfig { Kind = "sqlite", Path = sqlite.FullName, Table = table, Query = query };
        return new RecordSourceConfig { Kind = "postgres", ConnectionString = postgres, Table = table, Query = query };
    }

    /// <summary>Parses name:kind[:country],…</summary>
    public static List<PsiColumnRequest> ParseColumns(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(part =>
        {
            var bits = part.Split(':');
            if (bits.Length is not (2 or 3)) throw new ArgumentException($"Column '{part}' must be name:kind or name:phone:countrycode.");
            if (!Smpc.Protocols.PrivateSetIntersection.ColumnKindNames.All.ContainsKey(bits[1]))
                throw new ArgumentException($"Column '{part}': unknown kind '{bits[1]}' (kinds: {string.Join(", ", Smpc.Protocols.PrivateSetIntersection.ColumnKindNames.All.Keys)}).");
            return new PsiColumnRequest(bits[0], bits[1], bits.Length == 3 ? bits[2] : null);
        })];

    /// <summary>Reports on the calling thread (Spectre's context is not thread-safe for concurrent updates from the thread pool).</summary>
    private sealed class SyncProgress(Action<PsiProgress> report) : IProgress<PsiProgress>
    {
        private readonly Lock _gate = new();

        public void Report(PsiProgress value)
        {
            lock (_gate) report(value);
        }
    }
}
