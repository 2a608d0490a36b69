using System.CommandLine;
using System.Text.Json;
using Smpc.Client;
using Smpc.Client.Identity;
using Smpc.Client.Federated;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Training;
using Spectre.Console;

namespace Smpc.Cli.Commands;

/// <summary>
/// <c>smpc train</c>: the modeller trains a model with federated averaging over its pods (DESIGN.md §3.3) from a JSON spec;
/// each round's pooled loss is shown as it arrives, and the final model (with its standardisation) is written to a file.
/// </summary>
public static class TrainCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, WriteIndented = true };

    public static Command Build(Option<string> tenant, Func<ParseResult, Func<SmpcClient, Task>, Task<int>> run)
    {
        var id = new Argument<string>("session") { Description = "Session id" };
        var modeller = new Option<string>("--modeller") { Description = "Your modeller id", Required = true };
        var pods = new Option<string[]>("--pod") { Description = "Participating pod (repeat; at least 3)", Required = true, AllowMultipleArgumentsPerToken = true };
        var spec = new Option<FileInfo>("--spec")
        {
            Description = "The training as JSON: {trainer: linear|logistic, source, features:[…], label, rounds, learningRate, localEpochs, tolerance}",
            Required = true,
        };
        var pin = new PinOptions();
        var output = new Option<FileInfo?>("--out") { Description = "Write the model (parameters, feature names, standardisation) as JSON" };
        var command = new Command("train", "Modeller: federated training (FedAvg over secure aggregation); you receive only the averaged model.")
        {
            id, modeller, pods, spec, output, tenant,
        };
        foreach (var option in pin.All) command.Options.Add(option);
        command.SetAction((r, ct) => run(r, async client =>
        {
            var pins = pin.Store(r, r.GetValue(tenant)!); // a bad --pin or pins file stops here, before a session exists
            var request = JsonSerializer.Deserialize<TrainingRequest>(File.ReadAllText(r.GetValue(spec)!.FullName), Json)
                ?? throw new ArgumentException("The spec file is empty.");
            try
            {
                var outcome = await CancelOnFailure.RunAsync(client, r.GetValue(tenant)!, r.GetValue(id)!,
                    () => RunAsync(client, r.GetValue(tenant)!, r.GetValue(id)!, r.GetValue(modeller)!, r.GetValue(pods)!, request, ct, pins), ct);
                if (r.GetValue(output) is { } file)
                {
                    File.WriteAllText(file.FullName, JsonSerializer.Serialize(new
                    {
                        request.Trainer, request.Features, request.Label, Parameters = outcome.Theta,
                        Standardisation = new { outcome.Standardisation.Mean, outcome.Standardisation.Std }, Rounds = outcome.Rounds.Count, outcome.Converged,
                    }, Json));
                    AnsiConsole.MarkupLineInterpolated($"[green]model written to[/] {file.FullName}");
                }
            }
            catch (FederatedSessionFailedException failed)
            {
                throw new CliException(ExitCodes.Refused, $"training {r.GetValue(id)} failed: {failed.Message}");
            }
        }));
        return command;
    }

    /// <summary>Runs training, printing one line per round.</summary>
    public static async Task<FederatedTrainingOutcome> RunAsync(
        SmpcClient client, string tenant, string sessionId, string modellerId, IReadOnlyList<string> pods, TrainingRequest request, CancellationToken ct,
        PinStore? pins = null)
    {
        AnsiConsole.MarkupLineInterpolated($"[grey]training[/] {sessionId}: {request.Trainer} on {request.Label} ~ {string.Join(" + ", request.Features)} [grey]over[/] {string.Join(", ", pods)}, up to {request.Rounds} rounds");
        var outcome = await FederatedTrainingRun.RunAsync(client, tenant, sessionId, modellerId, pods, request, pins,
            progress: round => AnsiConsole.MarkupLineInterpolated(
                $"[blue]›[/] round {round.Round,3}  loss [green]{round.Loss,10:F5}[/]  Δθ {round.UpdateNorm,9:F5}  {round.Pods} pods  {round.Duration.TotalSeconds,6:F2} s"),
            log: line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"), ct: ct);
        AnsiConsole.MarkupLineInterpolated($"[green]{(outcome.Converged ? "converged" : "finished")}[/] after {outcome.Rounds.Count} rounds; final pooled loss {outcome.Rounds[^1].Loss:F5}");
        return outcome;
    }
}
