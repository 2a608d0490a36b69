using System.CommandLine;
using System.Globalization;
using Smpc.Client;
using Smpc.Contracts;

namespace Smpc.Cli.Commands;

/// <summary><c>smpc session list|show|cancel</c>: the sessions a key may see, as a table with each pod's status, or as JSON.</summary>
public static class SessionCommands
{
    /// <summary>Builds the <c>session</c> command group.</summary>
    public static Command Build(Option<string> tenant, Func<ParseResult, Func<SmpcClient, Task>, Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var output = OutputOption.Create();
        var limit = new Option<int>("--limit") { Description = "Most sessions to list, newest first (1–500)", DefaultValueFactory = _ => 100 };
        CliOptions.Range(limit, 1, 500, "--limit must be 1 to 500.");
        var kind = new Option<string?>("--kind") { Description = "Only sessions of this kind: secure-aggregation, psi, query or training" };
        var phase = new Option<string?>("--phase") { Description = "Only sessions in these phases (comma-separated), or active, or ended" };
        var cursor = new Option<string?>("--cursor") { Description = "Go on from a previous list (the 'next' it printed)" };
        var list = new Command("list", "Lists the sessions the key may see, newest first: a tenant admin all, a modeller its own, a pod those it is in.")
        {
            tenant, limit, kind, phase, cursor, output,
        };
        list.SetAction((r, ct) => run(r, async c =>
        {
            var page = await c.ListSessionsAsync(r.GetValue(tenant)!,
                new SessionListFilter(Kind: r.GetValue(kind), Phase: r.GetValue(phase), Limit: r.GetValue(limit), Cursor: r.GetValue(cursor)), ct);
            if (OutputOption.IsJson(r, output))
            {
                SmpcCommands.Print(page);
                return;
            }

            if (page.Items.Count == 0)
            {
                Console.WriteLine("No sessions.");
                return;
            }

            // The list holds summaries; each pod's status is in the session's detail.
            var sessions = await Task.WhenAll(page.Items.Select(s => c.GetSessionAsync(s.Tenant, s.Id, ct)));
            var table = CliTables.Create("session", "kind", "modeller", "phase", "created (UTC)", "pods");
            foreach (var s in sessions)
                table.Row(s.Id, s.Kind, s.ModellerId, s.Phase, Time(s.CreatedAt), string.Join(", ", PodStatuses(s).Select(p => $"{p.Pod}: {p.Status}")));
            CliTables.Write(table);
            if (page.Next is not null) Console.WriteLine($"More: --cursor {page.Next}");
        }));

        var id = new Argument<string>("id") { Description = "Session id" };
        var show = new Command("show", "Shows a session: its phase, each pod's status, and why it failed.") { id, tenant, output };
        show.SetAction((r, ct) => run(r, async c =>
        {
            var s = await c.GetSessionAsync(r.GetValue(tenant)!, r.GetValue(id)!, ct);
            if (OutputOption.IsJson(r, output))
            {
                SmpcCommands.Print(s);
                return;
            }

            var facts = CliTables.Create("session", s.Id);
            facts.Row("kind", s.Kind).Row("modeller", s.ModellerId).Row("phase", s.Phase).Row("created (UTC)", Time(s.CreatedAt)).Row("version", Text(s.Version));
            if (s.Parent is not null) facts.Row("round of", s.Parent);
            if (s.Aggregation is { } a)
            {
                facts.Row("operation", $"{a.Operation} of input '{a.Input}'").Row("threshold", $"{a.Threshold} of {s.PodIds.Count} pods");
                if (a.PhaseDeadline is { } deadline) facts.Row("phase deadline (UTC)", Time(deadline));
            }

            if (s.Psi is { } p) facts.Row("protocol", $"{p.Protocol} {p.Mode}, pod source '{p.Source}'");
            if (s.Federated is { } f) facts.Row("rounds", Text(f.Rounds.Count));
            if (FailureReason(s) is { } reason) facts.Row("failure", reason);
            CliTables.Write(facts);

            var pods = CliTables.Create("pod", "party", "status");
            foreach (var (pod, party, status) in PodStatuses(s)) pods.Row(pod, party, status);
            CliTables.Write(pods);
        }));
        var reason = new Option<string?>("--reason") { Description = "Why (stored with the session and in the audit log)" };
        var cancel = new Command("cancel", "Its modeller or the tenant admin: cancels a session; its pods stop and later protocol messages are refused.") { id, reason, tenant, output };
        cancel.SetAction((r, ct) => run(r, async c =>
        {
            var s = await c.CancelSessionAsync(r.GetValue(tenant)!, r.GetValue(id)!, r.GetValue(reason), ct);
            if (OutputOption.IsJson(r, output)) SmpcCommands.Print(s);
            else Console.WriteLine($"session {s.Id}: {s.Phase}");
        }));
        return new Command("session", "Protocol sessions (create them with `smpc aggregate`, `smpc psi`, `smpc query` or `smpc train`).") { list, show, cancel };
    }

    /// <summary>Each pod of the session with its party number (secure aggregation) and how far it got.</summary>
    public static IEnumerable<(string Pod, string Party, string Status)> PodStatuses(SessionResponse session)
    {
        ArgumentNullException.ThrowIfNull(session);
        for (var i = 0; i < session.PodIds.Count; i++)
        {
            var pod = session.PodIds[i];
            var party = i + 1;
            if (session.Aggregation is { } a)
                yield return (pod, Text(party), AggregationStatus(a, party));
            else if (session.Psi is { } p)
                yield return (pod, "", p.FailureReason is not null ? "failed" : p.ReplyStored ? "replied" : p.Accepted ? "accepted" : "waiting");
            else if (session.Federated is { } f)
                yield return (pod, "", f.MemberKeys.ContainsKey(pod) ? "joined" : "waiting");
            else
                yield return (pod, "", "");
        }
    }

    private static string AggregationStatus(AggregationStatusResponse a, int party) =>
        a.Dropped.Contains(party) ? "dropped"
        : a.Included?.Contains(party) == true ? "included"
        : a.UnmaskResponses.Contains(party) ? "unmask sent"
        : a.MaskedInputs.Contains(party) ? "masked input sent"
        : a.ShareSenders.Contains(party) ? "shares sent"
        : a.KeyBundles.Contains(party) ? "keys sent"
        : "waiting";

    private static string? FailureReason(SessionResponse s) => s.Aggregation?.FailureReason ?? s.Psi?.FailureReason ?? s.Federated?.FailureReason;

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string Text(int n) => n.ToString(CultureInfo.InvariantCulture);
}
