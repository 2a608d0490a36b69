using System.CommandLine;

namespace Smpc.Cli.Commands;

/// <summary>
/// <c>--pin pod=sha256:…</c>: the modeller pins a pod's identity fingerprint for this session (learnt out of band, e.g. from the
/// pod's operator). A key bundle or member key signed by another key then stops the session instead of being trusted
/// from the service's registry.
/// </summary>
public static class PinOption
{
    /// <summary>The repeatable option.</summary>
    public static Option<string[]> Create() => new("--pin")
    {
        Description = "Pin a pod's identity fingerprint for this session: pod=sha256:<64 hex> (repeat); unpinned pods are trusted from the registry",
        AllowMultipleArgumentsPerToken = true,
    };

    /// <summary>Parses pod=fingerprint pairs; null when none were given.</summary>
    public static IReadOnlyDictionary<string, string>? Parse(string[]? values)
    {
        if (values is not { Length: > 0 }) return null;
        var pins = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var parts = value.Split('=', 2, StringSplitOptions.TrimEntries);
            var fingerprint = parts.Length == 2 ? parts[1].ToLowerInvariant() : "";
            if (parts[0].Length == 0 || !fingerprint.StartsWith("sha256:", StringComparison.Ordinal) || fingerprint.Length != 7 + 64
                || !fingerprint[7..].All(char.IsAsciiHexDigitLower))
                throw new ArgumentException($"--pin '{value}' must be pod=sha256:<64 hex digits> (the fingerprint `smpc pod show` prints).");
            if (!pins.TryAdd(parts[0], fingerprint)) throw new ArgumentException($"--pin names pod '{parts[0]}' twice.");
        }

        return pins;
    }
}
