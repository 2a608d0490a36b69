using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Smpc.Client;
using Smpc.Contracts;

namespace Smpc.Cli.Commands;

/// <summary><c>smpc audit tail|export</c>: a tenant's audit log (tenant admin; a pod reads the entries about itself with --pod).</summary>
public static class AuditCommands
{
    private static readonly JsonSerializerOptions JsonLines = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Builds the <c>audit</c> command group.</summary>
    public static Command Build(Option<string> tenant, Func<ParseResult, Func<SmpcClient, Task>, Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var filters = new Filters();
        var lines = new Option<int>("--lines", "-n") { Description = "How many of the newest entries to show (1–500)", DefaultValueFactory = _ => 20 };
        CliOptions.Range(lines, 1, 500, "--lines must be 1 to 500.");
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new entries as they arrive (Ctrl+C stops)" };
        var output = OutputOption.Create();
        var tail = new Command("tail", "Shows the newest entries of the audit log (--pod: those about one pod, which the pod itself may read).")
        {
            tenant, lines, follow, output,
        };
        filters.AddTo(tail);
        tail.SetAction((r, ct) => run(r, async c =>
        {
            var tenantId = r.GetValue(tenant)!;
            var filter = filters.Read(r);
            var json = OutputOption.IsJson(r, output);
            var (entries, next) = await NewestAsync(c, tenantId, filter, r.GetValue(lines), ct);
            Print(entries, json, header: true);
            if (!r.GetValue(follow)) return;
            try
            {
                while (true)
                {
                    await Task.Delay(TimeSpan.FromSeconds(2), ct);
                    var page = await PageAsync(c, tenantId, filter, next, 500, ct);
                    if (page.Entries.Count > 0) Print(page.Entries, json, header: false);
                    next = page.Entries.Count > 0 ? page.Entries[^1].Sequence : Math.Max(next, page.Head);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
        }));

        var exportFilters = new Filters();
        var file = new Option<FileInfo?>("--out") { Description = "Write the JSON lines to this file instead of stdout" };
        var export = new Command("export", "Tenant admin: every (filtered) entry of the audit log as JSON lines, oldest first.") { tenant, file };
        exportFilters.AddTo(export);
        export.SetAction((r, ct) => run(r, async c =>
        {
            var target = r.GetValue(file);
            await using var writer = target is null ? null : new StreamWriter(target.FullName);
            var output = writer ?? Console.Out;
            long count = 0;
            await foreach (var entry in c.ExportAuditAsync(r.GetValue(tenant)!, exportFilters.Read(r), ct))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(entry, JsonLines));
                count++;
            }

            if (target is not null) Console.Error.WriteLine($"{count} entries written to {target.FullName}");
        }));
        return new Command("audit", "The tenant's audit log.") { tail, export };
    }

    /// <summary>The newest <paramref name="count"/> entries matching the filter, oldest first, and the sequence to continue after.</summary>
    private static async Task<(List<AuditEntryResponse> Entries, long Next)> NewestAsync(SmpcClient c, string tenant, AuditFilter filter, int count, CancellationToken ct)
    {
        var head = (await PageAsync(c, tenant, filter, 0, 1, ct)).Head;
        var unfiltered = filter with { Pod = null } == new AuditFilter();
        // Unfiltered, the newest entries are the last sequence numbers; filtered, the log is read through, keeping the last ones.
        var after = unfiltered ? Math.Max(0, head - count) : 0;
        var kept = new Queue<AuditEntryResponse>();
        while (true)
        {
            var page = await PageAsync(c, tenant, filter, after, 500, ct);
            foreach (var entry in page.Entries)
            {
                kept.Enqueue(entry);
                if (kept.Count > count) kept.Dequeue();
            }

            if (page.Next is not { } next) return ([.. kept], Math.Max(head, kept.LastOrDefault()?.Sequence ?? 0));
            after = next;
        }
    }

    private static Task<AuditPageResponse> PageAsync(SmpcClient c, string tenant, AuditFilter filter, long after, int limit, CancellationToken ct) =>
        filter.Pod is { } pod
            ? c.ListPodAuditAsync(tenant, pod, filter with { Pod = null }, after, limit, ct)
            : c.ListAuditAsync(tenant, filter, after, limit, ct);

    private static void Print(IReadOnlyList<AuditEntryResponse> entries, bool json, bool header)
    {
        if (json)
        {
            foreach (var e in entries) Console.WriteLine(JsonSerializer.Serialize(e, JsonLines));
            return;
        }

        if (entries.Count == 0)
        {
            if (header) Console.WriteLine("No entries.");
            return;
        }

        var table = CliTables.Create("seq", "time (UTC)", "type", "actor", "session", "pods", "detail");
        foreach (var e in entries)
            table.Row(e.Sequence.ToString(CultureInfo.InvariantCulture), e.Time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), e.Type,
                $"{e.Actor.Role}{(e.Actor.Subject is { } s ? " " + s : "")}", e.Session, string.Join(",", e.Pods), e.Detail);
        CliTables.Write(table);
    }

    /// <summary>The filter options shared by tail and export (one set per command).</summary>
    private sealed class Filters
    {
        private readonly Option<string?> _type = new("--type") { Description = "An event type, or a family such as session.*" };
        private readonly Option<string?> _session = new("--session") { Description = "Entries about this session" };
        private readonly Option<string?> _actor = new("--actor") { Description = "Entries caused by this role (e.g. Pod, Service), subject id or key id" };
        private readonly Option<string?> _pod = new("--pod") { Description = "Entries that involve this pod" };
        private readonly Option<DateTimeOffset?> _since = new("--since") { Description = "Entries at or after this time (ISO 8601, e.g. 2026-12-01T00:00:00Z)" };
        private readonly Option<DateTimeOffset?> _until = new("--until") { Description = "Entries before this time (ISO 8601)" };

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { _type, _session, _actor, _pod, _since, _until }) command.Options.Add(option);
        }

        public AuditFilter Read(ParseResult r) =>
            new(r.GetValue(_type), r.GetValue(_session), r.GetValue(_actor), r.GetValue(_since), r.GetValue(_until), r.GetValue(_pod));
    }
}
