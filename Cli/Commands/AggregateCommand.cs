using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Smpc.Agent;
using Smpc.Client;
using Smpc.Client.Identity;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Spectre.Console;

namespace Smpc.Cli.Commands;

/// <summary><c>smpc aggregate</c>: the modeller creates a secure-aggregation session, watches it, unmasks locally and writes the result.</summary>
public static class AggregateCommand
{
    public static Command Build(Option<string> tenant, Func<ParseResult, Func<SmpcClient, Task>, Task<int>> run)
    {
        var id = new Argument<string>("session") { Description = "Session id" };
        var modeller = new Option<string>("--modeller") { Description = "Your modeller id", Required = true };
        var pods = new Option<string[]>("--pod") { Description = "Participating pod (repeat; at least 3)", Required = true, AllowMultipleArgumentsPerToken = true };
        var fields = new Option<string[]>("--field")
        {
            Description = "Field as name:length:min:max[:precision] (repeat); length may be a shape like 3x4; precision 1 = exact integers, default 1e10",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var operation = new Option<string>("--operation")
        {
            Description = "sum, mean or weighted-mean (Σ w·x / Σ w: --field gives the bounds of x, --weight those of each pod's weight)",
            DefaultValueFactory = _ => "mean",
        };
        var input = new Option<string>("--input") { Description = "The named input each pod contributes (plain x, also for weighted-mean)", Required = true };
        var weight = new Option<string?>("--weight")
        {
            Description = "weighted-mean: bounds of each pod's weight as min:max[:precision], min > 0, precision default 1 (counts). " +
                "Each pod's agent supplies its weight (inputs.<name>.weight or weightRowsOf) and sends w·x itself: never pre-multiply",
        };
        var weightField = new Option<string?>("--weight-field") { Description = "Retired (pods pre-multiplied w·x): use --weight; the service refuses it and says how", Hidden = true };
        var threshold = new Option<int?>("--threshold") { Description = "Pods needed to finish (default ⌈2n/3⌉)" };
        var timeout = new Option<int>("--phase-timeout") { Description = "Seconds each phase waits for late pods", DefaultValueFactory = _ => 300 };
        var phaseTimeouts = new Option<string[]>("--phase-timeout-for")
        {
            Description = "Override one phase's timeout: key-exchange|share-exchange|masked-input|unmasking=SECONDS (repeat)",
            AllowMultipleArgumentsPerToken = true,
        };
        var output = new Option<FileInfo?>("--out") { Description = "Write the result to .json, .csv or .npy" };
        var minPods = new Option<int?>("--min-pods") { Description = "Fewest pods the result must include, or the command fails (exit code 7); default all pods" };
        var pin = new PinOptions();
        var command = new Command("aggregate", "Modeller: runs a secure aggregation and computes the result locally; the service never sees it.")
        {
            id, modeller, pods, fields, operation, input, weight, weightField, threshold, timeout, phaseTimeouts, output, minPods, tenant,
        };
        foreach (var option in pin.All) command.Options.Add(option);
        command.SetAction(async (r, ct) =>
        {
            var exit = 0;
            var code = await run(r, async client =>
            {
                var pins = pin.Store(r, r.GetValue(tenant)!); // a bad --pin or pins file stops here, before a session exists
                var perPhase = (r.GetValue(phaseTimeouts) ?? []).Select(ParsePhaseTimeout).ToDictionary(p => p.Phase, p => p.Seconds);
                var spec = new AggregationRequest([.. r.GetValue(fields)!.Select(ParseField)], r.GetValue(operation)!, "", r.GetValue(input)!,
                    r.GetValue(threshold), r.GetValue(timeout), r.GetValue(weightField), perPhase.Count > 0 ? perPhase : null,
                    r.GetValue(weight) is { } w ? ParseWeight(w) : null);
                AggregationOutcome outcome;
                try
                {
                    outcome = await CancelOnFailure.RunAsync(client, r.GetValue(tenant)!, r.GetValue(id)!,
                        () => RunAsync(client, r.GetValue(tenant)!, r.GetValue(id)!, r.GetValue(modeller)!, r.GetValue(pods)!, spec, ct, pins), ct);
                }
                catch (SecureAggregationFailedException failed)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]session {failed.Session.Id} failed:[/] {failed.Message}");
                    PrintLeftOut(failed.LeftOut);
                    throw new SmpcApiException(System.Net.HttpStatusCode.Conflict, ProblemTypes.WrongPhase, "Secure aggregation failed", failed.Message);
                }

                Print(outcome);
                PrintLeftOut(outcome.LeftOut);
                if (r.GetValue(output) is { } file) Write(outcome, file);
                var needed = r.GetValue(minPods) ?? r.GetValue(pods)!.Length;
                if (outcome.IncludedParties.Count < needed)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]the result includes {outcome.IncludedParties.Count} pods, fewer than --min-pods {needed}[/]");
                    exit = MinPodsExitCode;
                }
            });
            return code != 0 ? code : exit;
        });
        return command;
    }

    /// <summary>The exit code when the result includes fewer pods than <c>--min-pods</c>.</summary>
    public const int MinPodsExitCode = ExitCodes.TooFewPods;

    /// <summary>Prints the pods the result leaves out, and why (a decline's category, a dropout).</summary>
    public static void PrintLeftOut(IReadOnlyList<LeftOutPod> leftOut)
    {
        foreach (var pod in leftOut) AnsiConsole.MarkupLineInterpolated($"[yellow]left out[/] {pod.Pod} (party {pod.Party}): {pod.Reason}");
    }

    /// <summary>Creates, watches (one status line per change) and unmasks.</summary>
    public static async Task<AggregationOutcome> RunAsync(
        SmpcClient client, string tenant, string sessionId, string modellerId, IReadOnlyList<string> pods, AggregationRequest spec, CancellationToken ct,
        PinStore? pins = null)
    {
        using var modeller = await ModellerAggregation.CreateAsync(client, tenant, sessionId, modellerId, pods, spec, pins: pins, ct: ct);
        // Every pod is held to its pin now, not only at unmasking: an unpinned pod (--no-trust-on-first-use) or a changed
        // identity stops the run at once, and the session is cancelled before the pods do any work.
        if (pins is not null) await AggregationSession.PinsAsync(client, modeller.Session, pins, ct);
        AnsiConsole.MarkupLineInterpolated($"[grey]session[/] {sessionId} [grey]created with[/] {pods.Count} [grey]pods, threshold[/] {modeller.Session.Aggregation!.Threshold}");
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var watcher = WatchAsync(client, tenant, sessionId, watching.Token);
        try
        {
            return await modeller.WaitForResultAsync(ct);
        }
        finally
        {
            await watching.CancelAsync();
            await watcher;
        }
    }

    private static async Task WatchAsync(SmpcClient client, string tenant, string sessionId, CancellationToken ct)
    {
        var last = "";
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var s = await client.GetSessionAsync(tenant, sessionId, ct);
                var a = s.Aggregation!;
                var line = $"{s.Phase,-15} bundles {a.KeyBundles.Count}/{s.PodIds.Count}  shares {a.ShareSenders.Count}  masked {a.MaskedInputs.Count}  unmask {a.UnmaskResponses.Count} (need {a.Threshold})" +
                    (a.Dropped.Count > 0 ? $"  dropped {string.Join(",", a.Dropped)}" : "") +
                    string.Concat((a.Pods ?? []).Where(p => p.DeclineCategory is not null).Select(p => $"  {p.Pod} declined ({p.DeclineCategory})"));
                if (line != last) AnsiConsole.MarkupLineInterpolated($"[grey]{DateTime.Now:HH:mm:ss}[/] {line}");
                last = line;
                await Task.Delay(250, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public static void Print(AggregationOutcome outcome)
    {
        AnsiConsole.MarkupLineInterpolated($"[grey]included pods[/] {string.Join(", ", outcome.IncludedPods)}");
        if (outcome.WeightSum is { } weightSum) AnsiConsole.MarkupLineInterpolated($"[grey]Σw[/] {weightSum.ToString(CultureInfo.InvariantCulture)}");
        var table = new Table().AddColumns("field", $"{outcome.Session.Aggregation!.Operation} over {outcome.IncludedParties.Count} pods");
        foreach (var (name, values) in outcome.Values)
            table.AddRow(name, string.Join(", ", values.Take(12).Select(v => v.ToString("G10", CultureInfo.InvariantCulture))) + (values.Length > 12 ? ", …" : ""));
        AnsiConsole.Write(table);
    }

    private static void Write(AggregationOutcome outcome, FileInfo file)
    {
        switch (file.Extension.ToLowerInvariant())
        {
            case ".npy":
                // One field keeps its declared shape; several are written as one flat vector in field order.
                var shape = outcome.Values.Count == 1 ? outcome.Session.Aggregation!.Fields.Single(f => f.Name == outcome.Values.Keys.First()).Shape : null;
                File.WriteAllBytes(file.FullName, InputLoader.ToNpy([.. outcome.Values.Values.SelectMany(v => v)], shape));
                break;
            case ".csv":
                File.WriteAllLines(file.FullName, ["field,index,value", .. outcome.Values.SelectMany(f => f.Value.Select((v, i) => $"{f.Key},{i},{v.ToString("R", CultureInfo.InvariantCulture)}"))]);
                break;
            default:
                File.WriteAllText(file.FullName, JsonSerializer.Serialize(new
                {
                    operation = outcome.Session.Aggregation!.Operation,
                    includedParties = outcome.IncludedParties,
                    includedPods = outcome.IncludedPods,
                    weightSum = outcome.WeightSum,
                    values = outcome.Values,
                },
                    new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
                break;
        }

        AnsiConsole.MarkupLineInterpolated($"[green]result written to[/] {file.FullName}");
    }

    private static AggregationWeightRequest ParseWeight(string text)
    {
        var parts = text.Split(':');
        if (parts.Length is < 2 or > 3) throw new ArgumentException($"--weight '{text}' must be min:max[:precision]");
        var inv = CultureInfo.InvariantCulture;
        return new AggregationWeightRequest(double.Parse(parts[0], inv), double.Parse(parts[1], inv), parts.Length == 3 ? long.Parse(parts[2], inv) : null);
    }

    private static (string Phase, int Seconds) ParsePhaseTimeout(string text)
    {
        var parts = text.Split('=', 2);
        return parts.Length == 2 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? (parts[0], seconds)
            : throw new ArgumentException($"--phase-timeout-for '{text}' must be PHASE=SECONDS, e.g. masked-input=600.");
    }

    private static AggregationFieldRequest ParseField(string text)
    {
        var parts = text.Split(':');
        if (parts.Length is < 4 or > 5) throw new ArgumentException($"--field '{text}' must be name:length:min:max[:precision], e.g. los:3:0:365.");
        try
        {
            var inv = CultureInfo.InvariantCulture;
            var dims = parts[1].Split('x').Select(d => int.Parse(d, inv)).ToArray();
            return new AggregationFieldRequest(parts[0], dims.Aggregate(1, (a, d) => a * d), double.Parse(parts[2], inv), double.Parse(parts[3], inv),
                parts.Length == 5 ? long.Parse(parts[4], inv) : null, dims.Length > 1 ? dims : null);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new ArgumentException($"--field '{text}': length, min, max and precision must be numbers (name:length:min:max[:precision], e.g. los:3:0:365).", e);
        }
    }
}
