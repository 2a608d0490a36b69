using System.CommandLine;
using Smpc.Client.Identity;

namespace Smpc.Cli.Commands;

/// <summary>
/// The pin options of a modeller command: <c>--pin pod=sha256:…</c> (configured pins for this run, learnt out of band),
/// <c>--pins-file</c> (the CLI's pin store, default <see cref="PinStore.DefaultPath"/>) and <c>--no-trust-on-first-use</c>.
/// Every pod's identity is resolved through that store: the service's registry only presents a fingerprint.
/// </summary>
public sealed class PinOptions
{
    /// <summary><c>--pin pod=sha256:…</c> (repeatable).</summary>
    public Option<string[]> Pin { get; } = new("--pin")
    {
        Description = "Pin a pod's identity fingerprint for this run: pod=sha256:<64 hex> (repeat); it wins over the pins file",
        AllowMultipleArgumentsPerToken = true,
    };

    /// <summary><c>--pins-file</c>.</summary>
    public Option<string?> PinsFile { get; } = CreatePinsFile();

    /// <summary><c>--no-trust-on-first-use</c>.</summary>
    public Option<bool> NoTrustOnFirstUse { get; } = new("--no-trust-on-first-use")
    {
        Description = "Refuse a pod that is neither pinned with --pin nor in the pins file, instead of pinning it on first use (with a warning)",
    };

    /// <summary>The three options, to add to a command.</summary>
    public IEnumerable<Option> All => [Pin, PinsFile, NoTrustOnFirstUse];

    /// <summary>A <c>--pins-file</c> option (one per command: an option belongs to one parent).</summary>
    public static Option<string?> CreatePinsFile() => new("--pins-file")
    {
        Description = "The pins file (env SMPC_PINS; default ~/.config/smpc/pins.json)",
    };

    /// <summary>The pins file of a command: <c>--pins-file</c>, else <see cref="PinStore.DefaultPath"/>.</summary>
    public static string PathOf(ParseResult result, Option<string?> pinsFile)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.GetValue(pinsFile) is { Length: > 0 } path ? path : PinStore.DefaultPath();
    }

    /// <summary>
    /// The store for this run: the pins file, the <c>--pin</c> values as configured pins of <paramref name="tenant"/>, first
    /// use announced on stderr as a warning unless <c>--no-trust-on-first-use</c> refuses it.
    /// </summary>
    /// <exception cref="ArgumentException">A <c>--pin</c> is malformed or names a pod twice.</exception>
    /// <exception cref="InvalidDataException">The pins file is damaged.</exception>
    public PinStore Store(ParseResult result, string tenant)
    {
        ArgumentNullException.ThrowIfNull(result);
        var configured = Parse(result.GetValue(Pin)).Select(p => new Pin(tenant, PinKinds.Pod, p.Key, p.Value, PinSources.Configured, DateTimeOffset.UnixEpoch));
        return new PinStore(PathOf(result, PinsFile), configured, !result.GetValue(NoTrustOnFirstUse), line => Console.Error.WriteLine($"warning: {line}"));
    }

    /// <summary>Parses pod=fingerprint pairs (empty when none were given).</summary>
    public static IReadOnlyDictionary<string, string> Parse(string[]? values)
    {
        var pins = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values ?? [])
        {
            var parts = value.Split('=', 2, StringSplitOptions.TrimEntries);
            var fingerprint = parts.Length == 2 ? parts[1].ToLowerInvariant() : "";
            if (parts[0].Length == 0 || !PinStore.IsFingerprint(fingerprint))
                throw new ArgumentException($"--pin '{value}' must be pod=sha256:<64 hex digits> (the fingerprint `smpc pod show` prints).");
            if (!pins.TryAdd(parts[0], fingerprint)) throw new ArgumentException($"--pin names pod '{parts[0]}' twice.");
        }

        return pins;
    }
}
