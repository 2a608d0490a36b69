using System.Text.Json;

namespace Smpc.Agent.SecureAggregation;

/// <summary>
/// The pod's memory of which pod sets it contributed each input to (a JSON file in the state directory, owner-only, replaced
/// durably), and the check that stops a modeller from differencing out one pod's input with sessions over nearly equal sets.
/// </summary>
/// <remarks>
/// The rule (docs/protocols/secure-aggregation.md, "Pod policy against differencing"), checked twice. On joining
/// (<see cref="Admit"/>): a session over pod set S for ledger key x is refused when |S| is below the minimum, or when an
/// earlier session over x within the window had a pod set E with 0 &lt; |S Δ E| &lt; k. Before answering the unmask request
/// (<see cref="Confirm"/>), the same with the pods actually in the sum (U3) against each earlier session's pods in its sum
/// (or its pod set, if it never got that far). Equal sets are allowed: the same sum again tells nothing new. The entry of a
/// session is written before the pod joins it, and removed again (<see cref="Forget"/>) only if the pod's masked vector never left it.
/// </remarks>
public sealed class DifferencingLedger(string path)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly object _gate = new();

    /// <summary>The ledger file.</summary>
    public string Path { get; } = path;

    /// <summary>
    /// Admits session <paramref name="sessionId"/> over <paramref name="pods"/> for ledger key <paramref name="key"/> and
    /// records it (durably, before returning), or returns why not (nothing is recorded then). Admitting the same session
    /// again (a restarted agent) checks it against the others and keeps one entry.
    /// </summary>
    /// <exception cref="InvalidDataException">The ledger file is damaged (the caller refuses the session: the pod cannot check it).</exception>
    public string? Admit(string key, string sessionId, IReadOnlyCollection<string> pods, DifferencingRule rule, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(pods);
        ArgumentNullException.ThrowIfNull(rule);
        var set = pods.ToHashSet(StringComparer.Ordinal);
        if (set.Count != pods.Count) return $"the session lists a pod twice ({string.Join(", ", pods)})";
        if (set.Count < rule.MinPods) return $"the session has {set.Count} pods; this pod takes part only with at least {rule.MinPods}";
        lock (_gate)
        {
            var entries = Load();
            // Entries past the window no longer count; dropping them keeps the file small.
            entries.RemoveAll(e => e.Key == key && rule.Window is { } window && now - e.At > window);
            if (TooClose(entries, key, sessionId, set, rule, e => e.Pods, "pod set") is { } refusal) return refusal;
            entries.RemoveAll(e => e.Key == key && e.Session == sessionId);
            entries.Add(new Entry(key, sessionId, [.. set.Order(StringComparer.Ordinal)], now, null));
            Save(entries);
            return null;
        }
    }

    /// <summary>
    /// Before the pod's answer makes session <paramref name="sessionId"/>'s sum computable: checks the pods in the sum
    /// (<paramref name="included"/>, U3) against the minimum and against every other session's pods in its sum, and records
    /// them; or returns why not (the entry stays: the masked vector has left).
    /// </summary>
    /// <exception cref="InvalidDataException">The ledger file is damaged.</exception>
    public string? Confirm(string key, string sessionId, IReadOnlyCollection<string> included, DifferencingRule rule, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(included);
        ArgumentNullException.ThrowIfNull(rule);
        var set = included.ToHashSet(StringComparer.Ordinal);
        if (set.Count < rule.MinPods) return $"the sum would hold {set.Count} pods' inputs; this pod takes part only with at least {rule.MinPods}";
        lock (_gate)
        {
            var entries = Load();
            entries.RemoveAll(e => e.Key == key && rule.Window is { } window && now - e.At > window);
            if (TooClose(entries, key, sessionId, set, rule, e => e.Included ?? e.Pods, "set of pods in the sum") is { } refusal) return refusal;
            var own = entries.FindIndex(e => e.Key == key && e.Session == sessionId);
            var sorted = set.Order(StringComparer.Ordinal).ToList();
            if (own >= 0) entries[own] = entries[own] with { Included = sorted };
            else entries.Add(new Entry(key, sessionId, sorted, now, sorted)); // admitted before this ledger existed (e.g. a lost file)
            Save(entries);
            return null;
        }
    }

    /// <summary>The first earlier session over <paramref name="key"/> whose set differs from <paramref name="set"/> in 1..k−1 pods, as a reason.</summary>
    private static string? TooClose(List<Entry> entries, string key, string sessionId, HashSet<string> set, DifferencingRule rule, Func<Entry, List<string>> setOf, string what)
    {
        foreach (var earlier in entries.Where(e => e.Key == key && e.Session != sessionId))
        {
            var other = setOf(earlier);
            var difference = set.Count + other.Count - 2 * other.Count(set.Contains);
            if (difference > 0 && difference < rule.MinDifference)
            {
                return $"its {what} differs from that of session {earlier.Session} ({earlier.At:yyyy-MM-dd}) over the same input in {difference} pod(s): "
                    + $"two sums over sets differing in fewer than {rule.MinDifference} pods would reveal the inputs of those pods (differencing)";
            }
        }

        return null;
    }

    /// <summary>Removes the entries of <paramref name="sessionId"/>: the session ended before this pod's masked input left it, so no sum can contain it.</summary>
    public void Forget(string sessionId)
    {
        lock (_gate)
        {
            var entries = Load();
            if (entries.RemoveAll(e => e.Session == sessionId) > 0) Save(entries);
        }
    }

    /// <summary>
    /// The sessions recorded for <paramref name="key"/>, oldest first: (session id, sorted pod ids, the sorted pods in its sum
    /// once confirmed, when admitted).
    /// </summary>
    public IReadOnlyList<(string Session, IReadOnlyList<string> Pods, IReadOnlyList<string>? Included, DateTimeOffset At)> Sessions(string key)
    {
        lock (_gate)
            return [.. Load().Where(e => e.Key == key).OrderBy(e => e.At).Select(e => (e.Session, (IReadOnlyList<string>)e.Pods, (IReadOnlyList<string>?)e.Included, e.At))];
    }

    private List<Entry> Load()
    {
        if (!File.Exists(Path)) return [];
        try
        {
            return JsonSerializer.Deserialize<List<Entry>>(File.ReadAllBytes(Path), Json) is { } entries && entries.All(e => e is { Key: not null, Session: not null, Pods: not null })
                ? entries
                : throw new InvalidDataException($"{Path} is not a differencing ledger.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{Path} is not a differencing ledger: {ex.Message}", ex);
        }
    }

    private void Save(List<Entry> entries) => new PartyStateFile(Path).Save(JsonSerializer.SerializeToUtf8Bytes(entries, Json));

    private sealed record Entry(string Key, string Session, List<string> Pods, DateTimeOffset At, List<string>? Included);
}
