using System.Text.Json;
using System.Text.Json.Serialization;

namespace Smpc.Client.Identity;

/// <summary>
/// The identities a party trusts, kept on its own machine: configured pins, pins added by hand, and — when allowed —
/// pins taken on first use from the service's registry with a loud notice. Never a silent fallback to the registry: once
/// a member is pinned, any other fingerprint is a hard stop (<see cref="PinMismatchException"/>). The file is owner-only
/// and replaced atomically; a store without a path keeps first-use pins in memory only.
/// </summary>
public sealed class PinStore
{
    private const int FormatVersion = 1;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly Dictionary<(string Tenant, string Kind, string Id), Pin> configured = [];
    private readonly Dictionary<(string Tenant, string Kind, string Id), Pin> memory = [];
    private readonly Action<string> notice;
    private readonly TimeProvider time;
    private readonly Lock gate = new();

    /// <summary>A store at <paramref name="path"/> (null: nothing is written), with <paramref name="configuredPins"/> that win over stored ones.</summary>
    public PinStore(
        string? path, IEnumerable<Pin>? configuredPins = null, bool trustOnFirstUse = true, Action<string>? notice = null, TimeProvider? time = null)
    {
        Path = path is null ? null : System.IO.Path.GetFullPath(path);
        TrustOnFirstUse = trustOnFirstUse;
        this.notice = notice ?? (line => Console.Error.WriteLine(line));
        this.time = time ?? TimeProvider.System;
        foreach (var pin in configuredPins ?? [])
        {
            var checkedPin = Validate(pin.Tenant, pin.Kind, pin.Id, pin.Fingerprint) with { Source = PinSources.Configured };
            if (configured.TryGetValue(Key(checkedPin), out var other) && other.Fingerprint != checkedPin.Fingerprint)
                throw new ArgumentException($"Two different pins are configured for {pin.Kind} '{pin.Id}' of tenant '{pin.Tenant}'.");
            configured[Key(checkedPin)] = checkedPin;
        }

        if (Path is not null) _ = ReadFile(); // a damaged file is reported now, not in the middle of a session
    }

    /// <summary>The pins file, or null for a store kept in memory.</summary>
    public string? Path { get; }

    /// <summary>Whether an unpinned member may be pinned from the service's registry on first use (announced loudly).</summary>
    public bool TrustOnFirstUse { get; }

    /// <summary>The default pins file of the CLI: <c>$SMPC_PINS</c>, else <c>~/.config/smpc/pins.json</c>.</summary>
    public static string DefaultPath() =>
        Environment.GetEnvironmentVariable("SMPC_PINS") is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData, Environment.SpecialFolderOption.DoNotVerify), "smpc", "pins.json");

    /// <summary>Every pin: configured ones first, then stored ones (a stored pin hidden by a configured one is not listed).</summary>
    public IReadOnlyList<Pin> List()
    {
        lock (gate)
        {
            var stored = Stored();
            return [.. configured.Values.OrderBy(Order), .. stored.Values.Where(p => !configured.ContainsKey(Key(p))).OrderBy(Order)];
        }
    }

    /// <summary>The pin for a member, or null.</summary>
    public Pin? Find(string tenant, string kind, string id)
    {
        lock (gate)
        {
            var key = (tenant, kind, id);
            return configured.GetValueOrDefault(key) ?? Stored().GetValueOrDefault(key);
        }
    }

    /// <summary>Pins a member by hand. Adding the same fingerprint again is a no-op; a different one is refused until the old pin is removed.</summary>
    public Pin Add(string tenant, string kind, string id, string fingerprint)
    {
        var pin = Validate(tenant, kind, id, fingerprint) with { Source = PinSources.Added, PinnedAt = time.GetUtcNow() };
        lock (gate)
        {
            var existing = configured.GetValueOrDefault(Key(pin)) ?? Stored().GetValueOrDefault(Key(pin));
            if (existing is not null)
            {
                if (existing.Fingerprint == pin.Fingerprint) return existing;
                throw new PinMismatchException(tenant, kind, id, existing.Fingerprint, pin.Fingerprint,
                    $"{Describe(kind, id, tenant)} is already pinned to {existing.Fingerprint} ({existing.Source}); remove that pin first (smpc pins remove).");
            }

            Write(pin);
            return pin;
        }
    }

    /// <summary>Removes a stored pin; false when there was none. Configured pins live in the configuration and cannot be removed here.</summary>
    public bool Remove(string tenant, string kind, string id)
    {
        lock (gate)
        {
            var key = (tenant, kind, id);
            if (configured.ContainsKey(key))
                throw new InvalidOperationException($"{Describe(kind, id, tenant)} is pinned in the configuration; change it there.");
            if (Path is null) return memory.Remove(key);
            var file = ReadFile();
            if (!file.Remove(key)) return false;
            WriteFile(file.Values);
            return true;
        }
    }

    /// <summary>
    /// The fingerprint to hold a member to. A pinned member must present exactly its pin (when <paramref name="presented"/>
    /// is given); an unpinned one is pinned now from <paramref name="presented"/> if trust on first use is on (with a loud
    /// notice), otherwise refused.
    /// </summary>
    public string Resolve(string tenant, string kind, string id, string? presented)
    {
        ValidateMember(tenant, kind, id);
        if (presented is not null && !IsFingerprint(Normalise(presented)))
            throw new PinMismatchException(tenant, kind, id, null, presented, $"The service presents '{presented}' as the identity of {Describe(kind, id, tenant)}: not a fingerprint.");
        lock (gate)
        {
            var key = (tenant, kind, id);
            var pin = configured.GetValueOrDefault(key) ?? Stored().GetValueOrDefault(key);
            if (pin is not null)
            {
                if (presented is not null && !string.Equals(Normalise(presented), pin.Fingerprint, StringComparison.Ordinal))
                    throw new PinMismatchException(tenant, kind, id, pin.Fingerprint, Normalise(presented),
                        $"{Describe(kind, id, tenant)} presents identity {Normalise(presented)}, but it is pinned to {pin.Fingerprint} ({pin.Source}). " +
                        "Refusing. If the member really rotated its key, check the new fingerprint with it out of band, then `smpc pins remove` and `smpc pins add`.");
                return pin.Fingerprint;
            }

            if (presented is null)
                throw new PinMismatchException(tenant, kind, id, null, null, $"{Describe(kind, id, tenant)} has no identity key, so it cannot be pinned.");
            if (!TrustOnFirstUse)
                throw new PinMismatchException(tenant, kind, id, null, Normalise(presented),
                    $"{Describe(kind, id, tenant)} is not pinned and trust on first use is off; pin it (smpc pins add, or the configuration's pins) with the fingerprint it shows you out of band.");
            var first = new Pin(tenant, kind, id, Normalise(presented), PinSources.FirstUse, time.GetUtcNow());
            Write(first);
            notice($"FIRST USE: pinned {Describe(kind, id, tenant)} to {first.Fingerprint}, as the service presents it. " +
                   $"Check this fingerprint with the {kind} out of band; any other key will be refused from now on ({Path ?? "pins kept in memory only"}).");
            return first.Fingerprint;
        }
    }

    /// <summary>Resolves a member, asking <paramref name="registry"/> for the fingerprint the service presents for it.</summary>
    public async Task<string> ResolveAsync(string tenant, string kind, string id, Func<CancellationToken, Task<string?>> registry, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var presented = await registry(ct).ConfigureAwait(false);
        return Resolve(tenant, kind, id, presented);
    }

    private static (string, string, string) Key(Pin pin) => (pin.Tenant, pin.Kind, pin.Id);

    private static string Order(Pin pin) => $"{pin.Tenant}\n{pin.Kind}\n{pin.Id}";

    private static string Describe(string kind, string id, string tenant) => $"{kind} '{id}' of tenant '{tenant}'";

    private static string Normalise(string fingerprint) => fingerprint.Trim().ToLowerInvariant();

    private static void ValidateMember(string tenant, string kind, string id)
    {
        if (string.IsNullOrWhiteSpace(tenant)) throw new ArgumentException("A pin needs a tenant.");
        if (!PinKinds.IsKnown(kind)) throw new ArgumentException($"A pin's kind is '{PinKinds.Pod}' or '{PinKinds.Modeller}', not '{kind}'.");
        if (string.IsNullOrWhiteSpace(id)) throw new ArgumentException("A pin needs a member id.");
    }

    private static Pin Validate(string tenant, string kind, string id, string fingerprint)
    {
        ValidateMember(tenant, kind, id);
        var f = Normalise(fingerprint ?? "");
        if (!IsFingerprint(f))
            throw new ArgumentException($"'{fingerprint}' is not an identity fingerprint: sha256: followed by 64 hex digits (the one `smpc pod show` or `smpc modeller show` prints).");
        return new Pin(tenant, kind, id, f, PinSources.Configured, DateTimeOffset.UnixEpoch);
    }

    /// <summary>True for <c>sha256:</c> followed by 64 lowercase hex digits.</summary>
    public static bool IsFingerprint(string value) =>
        value.Length == 71 && value.StartsWith("sha256:", StringComparison.Ordinal) && value.AsSpan(7).IndexOfAnyExcept("0123456789abcdef") < 0;

    private Dictionary<(string Tenant, string Kind, string Id), Pin> Stored() => Path is null ? memory : ReadFile();

    private void Write(Pin pin)
    {
        if (Path is null)
        {
            memory[Key(pin)] = pin;
            return;
        }

        var file = ReadFile(); // read again under the lock: another process may have pinned meanwhile
        file[Key(pin)] = pin;
        WriteFile(file.Values);
    }

    private Dictionary<(string Tenant, string Kind, string Id), Pin> ReadFile()
    {
        var result = new Dictionary<(string, string, string), Pin>();
        if (Path is null || !File.Exists(Path)) return result;
        PinsFile? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<PinsFile>(File.ReadAllText(Path), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The pins file {Path} is not valid JSON ({e.Message}); fix or remove it.", e);
        }

        if (parsed is null || parsed.Version != FormatVersion)
            throw new InvalidDataException($"The pins file {Path} has version {parsed?.Version}, this program reads version {FormatVersion}.");
        foreach (var pin in parsed.Pins ?? [])
        {
            Pin valid;
            try
            {
                valid = Validate(pin.Tenant, pin.Kind, pin.Id, pin.Fingerprint) with { Source = pin.Source, PinnedAt = pin.PinnedAt };
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"The pins file {Path} holds a bad pin: {e.Message}", e);
            }

            if (!result.TryAdd(Key(valid), valid))
                throw new InvalidDataException($"The pins file {Path} pins {Describe(pin.Kind, pin.Id, pin.Tenant)} twice.");
        }

        return result;
    }

    private void WriteFile(IEnumerable<Pin> pins)
    {
        var directory = System.IO.Path.GetDirectoryName(Path!)!;
        Directory.CreateDirectory(directory);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new PinsFile(FormatVersion, [.. pins.OrderBy(Order)]), Json);
        var temp = Path + "." + Environment.ProcessId + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(temp, options))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, Path!, overwrite: true);
    }

    private sealed record PinsFile(
        [property: JsonPropertyName("version")] int Version,
        [property: JsonPropertyName("pins")] IReadOnlyList<Pin>? Pins);
}
