using System.Text.Json;

namespace Smpc.Agent.SecureAggregation;

/// <summary>
/// The pod's memory of which pod sets it contributed each input to (a JSON file in the state directory, owner-only, replaced
/// durably), and the check that stops a modeller from differencing out one pod's input with sessions over nearly equal sets.
/// </summary>
/// <remarks>
/// The rule (docs/protocols/secure-aggregation.md, "Pod policy against differencing"): a session over pod set S for ledger key
/// x is refused when |S| is below the minimum, or when an earlier session over x within the window had a pod set E with
/// 0 &lt; |S Δ E| &lt; k. Equal sets are allowed: the same sum again tells nothing new. The entry of a session is written
/// before the pod joins it, and removed again (<see cref="Forget"/>) only if the pod's masked vector never left it.
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
            foreach (var earlier in entries.Where(e => e.Key == key && e.Session != sessionId))
            {
                var difference = set.Count + earlier.Pods.Count - 2 * earlier.Pods.Count(set.Contains);
                if (difference > 0 && difference < rule.MinDifference)
                {
                    return $"its pod set differs from that of session {earlier.Session} ({earlier.At:yyyy-MM-dd}) over the same input in {difference} pod(s): "
                        + $"two sums over sets differing in fewer than {rule.MinDifference} pods would reveal the inputs of those pods (differencing)";
                }
            }

            entries.RemoveAll(e => e.Key == key && e.Session == sessionId);
            entries.Add(new Entry(key, sessionId, [.. set.Order(StringComparer.Ordinal)], now));
            Save(entries);
            return null;
        }
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

    /// <summary>The sessions recorded for <paramref name="key"/>, oldest first: (session id, sorted pod ids, when admitted).</summary>
    public IReadOnlyList<(string Session, IReadOnlyList<string> Pods, DateTimeOffset At)> Sessions(string key)
    {
        lock (_gate)
            return [.. Load().Where(e => e.Key == key).OrderBy(e => e.At).Select(e => (e.Session, (IReadOnlyList<string>)e.Pods, e.At))];
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

    private sealed record Entry(string Key, string Session, List<string> Pods, DateTimeOffset At);
}
