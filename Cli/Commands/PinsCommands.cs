using System.CommandLine;
using Smpc.Client.Identity;
using Spectre.Console;

namespace Smpc.Cli.Commands;

/// <summary>
/// <c>smpc pins list|add|remove</c>: the identities this machine trusts, kept in its pins file (no service involved). A
/// fingerprint is added after checking it with the pod's or modeller's operator out of band; a rotated key is re-pinned
/// by removing the old pin and adding the new one.
/// </summary>
public static class PinsCommands
{
    /// <summary>The <c>pins</c> command and its subcommands.</summary>
    public static Command Build() => new("pins", "The identity fingerprints this machine trusts (pods' and modellers'), in its pins file.")
    {
        List(), Add(), Remove(),
    };

    private static Option<string> Kind()
    {
        var kind = new Option<string>("--kind") { Description = "pod (default) or modeller", DefaultValueFactory = _ => PinKinds.Pod };
        kind.AcceptOnlyFromAmong(PinKinds.Pod, PinKinds.Modeller);
        return kind;
    }

    private static Option<string> Tenant() => new("--tenant") { Description = "Tenant id", Required = true };

    private static Command List()
    {
        var tenant = new Option<string?>("--tenant") { Description = "Only this tenant's pins" };
        var file = PinOptions.CreatePinsFile();
        var output = OutputOption.Create();
        var command = new Command("list", "Lists the pins: tenant, kind, id, fingerprint, where it came from (added, first-use) and when.") { tenant, file, output };
        command.SetAction(r =>
        {
            var store = new PinStore(PinOptions.PathOf(r, file), trustOnFirstUse: false);
            var pins = store.List().Where(p => r.GetValue(tenant) is not { } only || p.Tenant == only).ToList();
            if (OutputOption.IsJson(r, output))
            {
                SmpcCommands.Print(pins);
                return ExitCodes.Ok;
            }

            var table = CliTables.Create("tenant", "kind", "id", "fingerprint", "source", "pinned at");
            foreach (var pin in pins) table.Row(pin.Tenant, pin.Kind, pin.Id, pin.Fingerprint, pin.Source, pin.PinnedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture));
            CliTables.Write(table);
            if (pins.Count == 0) Console.Error.WriteLine($"no pins in {store.Path}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Add()
    {
        var id = new Argument<string>("id") { Description = "The pod's or modeller's id" };
        var fingerprint = new Option<string>("--fingerprint") { Description = "sha256:<64 hex>, as the member's operator read it from `smpc identity new` (check it out of band)", Required = true };
        var tenant = Tenant();
        var kind = Kind();
        var file = PinOptions.CreatePinsFile();
        var command = new Command("add", "Pins a pod's or modeller's identity fingerprint; a different pin for it must be removed first.") { id, tenant, kind, fingerprint, file };
        command.SetAction(r =>
        {
            var store = new PinStore(PinOptions.PathOf(r, file), trustOnFirstUse: false);
            var pin = store.Add(r.GetValue(tenant)!, r.GetValue(kind)!, r.GetValue(id)!, r.GetValue(fingerprint)!);
            AnsiConsole.MarkupLineInterpolated($"[green]pinned[/] {pin.Kind} '{pin.Id}' of tenant '{pin.Tenant}' to {pin.Fingerprint} ({pin.Source}) in {store.Path}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Remove()
    {
        var id = new Argument<string>("id") { Description = "The pod's or modeller's id" };
        var tenant = Tenant();
        var kind = Kind();
        var file = PinOptions.CreatePinsFile();
        var command = new Command("remove", "Removes a pin (before pinning a rotated key with `smpc pins add`).") { id, tenant, kind, file };
        command.SetAction(r =>
        {
            var store = new PinStore(PinOptions.PathOf(r, file), trustOnFirstUse: false);
            if (!store.Remove(r.GetValue(tenant)!, r.GetValue(kind)!, r.GetValue(id)!))
                throw new CliException(ExitCodes.NotFound, $"no pin for {r.GetValue(kind)} '{r.GetValue(id)}' of tenant '{r.GetValue(tenant)}' in {store.Path}; `smpc pins list` shows the pins.");
            AnsiConsole.MarkupLineInterpolated($"[yellow]removed[/] the pin of {r.GetValue(kind)} '{r.GetValue(id)}' of tenant '{r.GetValue(tenant)}' from {store.Path}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
